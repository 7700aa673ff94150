// BNLL (binomial normal log likelihood): y = log(1 + exp(x)), element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const bnll: LayerDef = {
  type: 'BNLL',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    // Caffe computes x + log(1 + exp(-x)) for x > 0, log(1 + exp(x)) otherwise: ONNX Runtime's Softplus takes the
    // same two branches, so large inputs do not overflow.
    ctx.g.node('Softplus', ctx.x, { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe: dx = dy * e / (e + 1), e = exp(min(x, 50)): the logistic function of x.
    return { dx: [ctx.g.node('Mul', [ctx.dy[0]!, ctx.g.node('Sigmoid', ctx.x, { name: `${ctx.name}_sigmoid` })], { name: `${ctx.name}_dx` })] };
  },
};
