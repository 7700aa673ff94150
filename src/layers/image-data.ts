// ImageData: images listed in image_data_param.source, read in color (3 channels) or gray (1), resized to
// new_height x new_width if given, then cropped by transform_param. Tops: data [batch, C, H, W] and label [batch].
// Without a resize or a crop, H and W are those of the images, unknown here.
import { CaffeToolError } from '../errors.js';
import { batchSize, imageChannels, newImageSize } from './data-params.js';
import type { LayerContext, LayerDef } from './types.js';

type Size = [number | undefined, number | undefined];

/** DataTransformer::InferBlobShape on an image of the given size: a crop wins; SSD's resize_param replaces the size first. */
function transformedSize(ctx: LayerContext, image: Size): Size {
  const t = ctx.param('transform_param');
  let [h, w] = image;
  if (t.has('resize_param')) {
    if (ctx.dialect === 'ssd') {
      const r = t.sub('resize_param');
      if (r.num('height') > 0) h = r.num('height');
      if (r.num('width') > 0) w = r.num('width');
    } else {
      // NVCaffe's InferNewSize depends on the resize mode and the image itself.
      [h, w] = [undefined, undefined];
    }
  }
  const cropSize = t.num('crop_size');
  const [cropH, cropW] = cropSize > 0 ? [cropSize, cropSize] : t.info.byName.has('crop_h') ? [t.num('crop_h'), t.num('crop_w')] : [0, 0];
  if (cropH > 0 && h !== undefined && h < cropH) throw new CaffeToolError(`the crop height ${cropH} (transform_param) is larger than the image height ${h}`);
  if (cropW > 0 && w !== undefined && w < cropW) throw new CaffeToolError(`the crop width ${cropW} (transform_param) is larger than the image width ${w}`);
  return [cropH > 0 ? cropH : h, cropW > 0 ? cropW : w];
}

export const imageData: LayerDef = {
  type: 'ImageData',
  source: true,
  param: 'image_data_param',
  bottoms: [0, 0],
  tops: [2, 2],
  outputShapes(ctx) {
    const p = ctx.param('image_data_param');
    const size = newImageSize(p, 'image_data_param');
    const batch = batchSize(p, 'image_data_param');
    const [h, w] = transformedSize(ctx, size ?? [undefined, undefined]);
    return [h !== undefined && w !== undefined ? [batch, imageChannels(p), h, w] : undefined, [batch]];
  },
  unknownShapeReason: 'the images keep their own size (no image_data_param new_height/new_width and no transform_param crop), so the data shape depends on the image files',
};
