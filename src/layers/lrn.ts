// LRN (local response normalization), across channels or within each channel's plane: same shape as the input.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const lrn: LayerDef = {
  type: 'LRN',
  param: 'lrn_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const size = ctx.param('lrn_param').num('local_size');
    if (size % 2 !== 1) throw new CaffeToolError(`lrn_param.local_size must be odd (Caffe centres the window on each element), got ${size}`);
    // Caffe's Reshape checks for 4 axes in both ACROSS_CHANNELS and WITHIN_CHANNEL modes.
    if (ctx.inputs[0].length !== 4) throw new CaffeToolError(`LRN needs a 4-D input (N, C, H, W), got ${ctx.inputs[0].length}-D`);
    return sameAsInput(ctx);
  },
};
