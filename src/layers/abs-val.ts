// AbsVal: y = |x|, element-wise, same shape. Caffe refuses to run it in place.
import { refuseInPlace, sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const absVal: LayerDef = {
  type: 'AbsVal',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    refuseInPlace(ctx);
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    ctx.g.node('Abs', ctx.x, { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // dx = dy * sign(x), with sign(0) = 0 like caffe_cpu_sign.
    return { dx: [ctx.g.node('Mul', [ctx.dy[0]!, ctx.g.node('Sign', ctx.x, { name: `${ctx.name}_sign` })], { name: `${ctx.name}_dx` })] };
  },
};
