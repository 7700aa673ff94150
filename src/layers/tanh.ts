// TanH: y = tanh(x), element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const tanh: LayerDef = {
  type: 'TanH',
  param: 'tanh_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    ctx.g.node('Tanh', ctx.x, { outputs: ctx.y, name: ctx.name });
  },
};
