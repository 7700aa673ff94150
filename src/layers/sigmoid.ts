// Sigmoid: y = 1 / (1 + exp(-x)), element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const sigmoid: LayerDef = {
  type: 'Sigmoid',
  param: 'sigmoid_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    ctx.g.node('Sigmoid', ctx.x, { outputs: ctx.y, name: ctx.name });
  },
};
