// Flatten: merges axes axis..end_axis (defaults 1 and -1) into one: [N, C, H, W] -> [N, C*H*W].
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, count, refuseInPlace } from './shape.js';
import type { LayerDef } from './types.js';

export const flatten: LayerDef = {
  type: 'Flatten',
  param: 'flatten_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    refuseInPlace(ctx);
    const p = ctx.param('flatten_param');
    const input = ctx.inputs[0];
    const start = canonicalAxis(p.num('axis'), input.length, 'flatten_param.axis');
    const end = canonicalAxis(p.num('end_axis'), input.length, 'flatten_param.end_axis');
    // end_axis = axis - 1 is allowed by Caffe: it inserts an axis of size 1.
    if (end + 1 < start) throw new CaffeToolError(`flatten_param.end_axis (axis ${end}) comes before flatten_param.axis (axis ${start})`);
    return [[...input.slice(0, start), count(input, start, end + 1), ...input.slice(end + 1)]];
  },
};
