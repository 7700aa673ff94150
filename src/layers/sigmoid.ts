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
  gradient(ctx) {
    // dx = dy * y * (1 - y), from the output as Caffe computes it.
    const y = ctx.y[0];
    const slope = ctx.g.node('Mul', [y, ctx.g.node('Sub', [ctx.g.float32([1], []), y], { name: `${ctx.name}_one_minus_y` })], { name: `${ctx.name}_slope` });
    return { dx: [ctx.g.node('Mul', [ctx.dy[0]!, slope], { name: `${ctx.name}_dx` })] };
  },
};
