// Reduction: SUM, ASUM, SUMSQ or MEAN over all axes from reduction_param.axis (default 0) on; the top keeps
// only the axes before it (axis 0 gives a 0-D scalar, shape []).
import { canonicalAxis } from './shape.js';
import type { LayerDef } from './types.js';

export const reduction: LayerDef = {
  type: 'Reduction',
  param: 'reduction_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const input = ctx.inputs[0];
    const axis = canonicalAxis(ctx.param('reduction_param').num('axis'), input.length, 'reduction_param.axis');
    return [input.slice(0, axis)];
  },
};
