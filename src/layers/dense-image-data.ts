// DenseImageData (SegNet, ENet): pairs of an image and a label image listed in dense_image_data_param.source.
// Tops: data [batch, 3 or 1 (is_color), H, W] and label [batch, 1, H, W], H x W being crop_height x crop_width,
// else new_height x new_width, else the images' own size (unknown here). ENet also takes transform_param's
// crop_size (first), and divides the label's size by label_divide_factor when it does not crop.
import { CaffeToolError } from '../errors.js';
import { batchSize, imageChannels, newImageSize } from './data-params.js';
import { forkParam } from './fork-param.js';
import type { LayerDef, Shape } from './types.js';

export const denseImageData: LayerDef = {
  type: 'DenseImageData',
  source: true,
  param: 'dense_image_data_param',
  bottoms: [0, 0],
  tops: [2, 2],
  outputShapes(ctx) {
    const param = 'dense_image_data_param';
    const p = forkParam(ctx, param, ['segnet', 'enet']);
    const resize = newImageSize(p, param);
    const [cropH, cropW] = [p.num('crop_height'), p.num('crop_width')];
    if ((cropH > 0) !== (cropW > 0)) {
      throw new CaffeToolError(`${param} has crop_height ${cropH} and crop_width ${cropW}: give both or neither`);
    }
    const enet = ctx.dialect === 'enet';
    const t = ctx.param('transform_param');
    if (!enet && (t.num('crop_size') > 0 || t.bool('mirror'))) {
      // SegNet's prefetch thread aborts on the first batch: "Any stochastic transformation will break layer".
      throw new CaffeToolError('SegNet\'s DenseImageData cannot use transform_param crop_size or mirror: the image and its label would be transformed differently', {
        hint: `use ${param}.crop_height/crop_width and ${param}.mirror instead`,
      });
    }
    const batch = batchSize(p, param);
    const channels = imageChannels(p);
    const cropSize = t.num('crop_size');
    if (cropSize > 0) return [[batch, channels, cropSize, cropSize], [batch, 1, cropSize, cropSize]];
    if (cropH > 0) return [[batch, channels, cropH, cropW], [batch, 1, cropH, cropW]];
    if (!resize) return [undefined, undefined];
    const [h, w] = resize;
    let label: Shape = [batch, 1, h, w];
    if (enet) {
      const f = p.num('label_divide_factor');
      if (!(f > 0)) throw new CaffeToolError(`${param}.label_divide_factor is ${f}: it must be positive`);
      label = [batch, 1, Math.floor(h / f), Math.floor(w / f)];
    }
    return [[batch, channels, h, w], label];
  },
  unknownShapeReason: 'the images keep their own size (no crop_height/crop_width and no new_height/new_width), so the shapes depend on the image files',
};
