// Log: y = log_base(shift + scale x), natural log when base is -1; element-wise, same shape.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const log: LayerDef = {
  type: 'Log',
  param: 'log_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const base = ctx.param('log_param').num('base');
    if (base !== -1 && !(base > 0)) throw new CaffeToolError(`log_param.base must be positive (or -1 for e), got ${base}`);
    // Caffe multiplies by 1/log(base), which is infinite for base 1.
    if (base === 1) throw new CaffeToolError('log_param.base cannot be 1: log(1) = 0 and Caffe divides by it');
    return sameAsInput(ctx);
  },
};
