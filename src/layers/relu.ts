// ReLU (with negative_slope it is a leaky ReLU): element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';
import { float } from '../convert/onnx/graph.js';

export const relu: LayerDef = {
  type: 'ReLU',
  param: 'relu_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    const slope = ctx.param('relu_param').num('negative_slope');
    if (slope === 0) ctx.g.node('Relu', ctx.x, { outputs: ctx.y, name: ctx.name });
    else ctx.g.node('LeakyRelu', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { alpha: float(slope) } });
  },
  gradient(ctx) {
    // Caffe: dx = dy * ((x > 0) + negative_slope * (x <= 0)).
    const slope = ctx.param('relu_param').num('negative_slope');
    const positive = ctx.g.node('Greater', [ctx.x[0], ctx.g.float32([0], [])], { name: `${ctx.name}_positive` });
    if (slope === 0) {
      // dy times the mask as 0/1 floats: ONNX Runtime's Mul runs on every thread, its Where on one (2x slower here).
      const mask = ctx.g.node('Cast', [positive], { name: `${ctx.name}_mask`, attrs: { to: 1 } });
      return { dx: [ctx.g.node('Mul', [ctx.dy[0]!, mask], { name: `${ctx.name}_dx` })] };
    }
    const below = ctx.g.node('Mul', [ctx.dy[0]!, ctx.g.float32([slope], [])], { name: `${ctx.name}_dy_slope` });
    return { dx: [ctx.g.node('Where', [positive, ctx.dy[0]!, below], { name: `${ctx.name}_dx` })] };
  },
};
