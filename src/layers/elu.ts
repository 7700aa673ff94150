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
};
