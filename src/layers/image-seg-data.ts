// ImageSegData (DeepLab, PSPNet): images and label maps listed in image_data_param.source. Tops: data
// [batch, 3 or 1 (is_color), H, W], label [batch, 1, H, W] and data_dim [batch, 1, 1, 2] (each image's size after
// new_height/new_width, at most H x W);
// H x W is the transform_param crop (crop_size, or crop_height x crop_width), else new_height x new_width,
// else the images' own size (unknown here). Caffe adds the tops a net leaves out.
import { CaffeToolError } from '../errors.js';
import { batchSize, imageChannels, newImageSize } from './data-params.js';
import type { Params } from './params.js';
import type { LayerDef, Shape } from './types.js';

/** transform_param's crop: crop_size, or DeepLab's crop_height x crop_width, else [0, 0] (TransformImgAndSeg's CHECK). */
export function segCrop(t: Params): [number, number] {
  const has = (f: string) => t.info.byName.has(f) && t.has(f);
  if (!((!t.has('crop_size') && has('crop_height') && has('crop_width')) || (!has('crop_height') && !has('crop_width')))) {
    throw new CaffeToolError('transform_param must give either crop_size, or both crop_height and crop_width (not crop_size with them)');
  }
  if (t.has('crop_size')) return [t.num('crop_size'), t.num('crop_size')];
  return has('crop_height') ? [t.num('crop_height'), t.num('crop_width')] : [0, 0];
}

export const imageSegData: LayerDef = {
  type: 'ImageSegData',
  source: true,
  param: 'image_data_param',
  bottoms: [0, 0],
  // ExactNumTopBlobs 3 with AutoTopBlobs: Caffe creates the missing tops itself.
  tops: [0, 3],
  outputShapes(ctx) {
    const p = ctx.param('image_data_param');
    const t = ctx.param('transform_param');
    if (t.has('mean_file')) throw new CaffeToolError('ImageSegData does not support transform_param.mean_file (use mean_value)');
    const resize = newImageSize(p, 'image_data_param');
    const [cropH, cropW] = segCrop(t);
    const batch = batchSize(p, 'image_data_param');
    const size = cropH > 0 && cropW > 0 ? [cropH, cropW] : resize;
    const shapes: (Shape | undefined)[] = size
      ? [[batch, imageChannels(p), ...size], [batch, 1, ...size], [batch, 1, 1, 2]]
      : [undefined, undefined, [batch, 1, 1, 2]];
    return shapes.slice(0, ctx.tops.length);
  },
  unknownShapeReason: 'the images keep their own size (no transform_param crop and no image_data_param new_height/new_width), so the data and label shapes depend on the image files',
};
