// ELU: y = x for x > 0, alpha (exp(x) - 1) otherwise; element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';
import { float } from '../convert/onnx/graph.js';

export const elu: LayerDef = {
  type: 'ELU',
  param: 'elu_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    ctx.g.node('Elu', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { alpha: float(ctx.param('elu_param').num('alpha')) } });
  },
  gradient(ctx) {
    // Caffe: dx = dy * ((x > 0) + (alpha + y) * (x <= 0)), alpha + y being alpha exp(x) below 0.
    const alpha = Math.fround(ctx.param('elu_param').num('alpha'));
    const dy = ctx.dy[0]!;
    const positive = ctx.g.node('Greater', [ctx.x[0], ctx.g.float32([0], [])], { name: `${ctx.name}_positive` });
    const slope = ctx.g.node('Add', [ctx.y[0], ctx.g.float32([alpha], [])], { name: `${ctx.name}_slope` });
    const below = ctx.g.node('Mul', [dy, slope], { name: `${ctx.name}_dy_below` });
    return { dx: [ctx.g.node('Where', [positive, dy, below], { name: `${ctx.name}_dx` })] };
  },
};
