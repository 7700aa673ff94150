// Exp: y = base^(shift + scale x), base e when base is -1; element-wise, same shape.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const exp: LayerDef = {
  type: 'Exp',
  param: 'exp_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const base = ctx.param('exp_param').num('base');
    if (base !== -1 && !(base > 0)) throw new CaffeToolError(`exp_param.base must be positive (or -1 for e), got ${base}`);
    return sameAsInput(ctx);
  },
};
