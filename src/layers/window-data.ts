// WindowData (R-CNN): windows cut from the images of a window file and warped to transform_param.crop_size.
// Tops: data [batch_size, C, crop, crop], where C is the channel count the window file gives, so unknown
// here, and label [batch_size].
import { CaffeToolError } from '../errors.js';
import { batchSize } from './data-params.js';
import type { LayerDef } from './types.js';

export const windowData: LayerDef = {
  type: 'WindowData',
  source: true,
  param: 'window_data_param',
  bottoms: [0, 0],
  tops: [2, 2],
  outputShapes(ctx) {
    const crop = ctx.param('transform_param').num('crop_size');
    if (!(crop > 0)) throw new CaffeToolError('WindowData warps every window to transform_param.crop_size, which must be given and positive');
    return [undefined, [batchSize(ctx.param('window_data_param'), 'window_data_param')]];
  },
  unknownShapeReason: 'the channel count of the data comes from the window file (window_data_param.source), which caffe-tool does not read',
};
