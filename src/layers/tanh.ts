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
  gradient(ctx) {
    // dx = dy * (1 - y^2), from the output as Caffe computes it.
    const y = ctx.y[0];
    const slope = ctx.g.node('Sub', [ctx.g.float32([1], []), ctx.g.node('Mul', [y, y], { name: `${ctx.name}_y2` })], { name: `${ctx.name}_slope` });
    return { dx: [ctx.g.node('Mul', [ctx.dy[0]!, slope], { name: `${ctx.name}_dx` })] };
  },
};
