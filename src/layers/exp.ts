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
  toOnnx(ctx) {
    const p = ctx.param('exp_param');
    const [base, scale, shift] = ['base', 'scale', 'shift'].map((f) => Math.fround(p.num(f)));
    // Caffe's form, with its float constants: outer * exp(inner * x), inner = log(base) * scale and
    // outer = base^shift (e^shift for base -1).
    const inner = Math.fround((base === -1 ? 1 : Math.fround(Math.log(base))) * scale);
    const outer = shift === 0 ? 1 : Math.fround(base === -1 ? Math.exp(shift) : Math.pow(base, shift));
    const scaled = inner === 1 ? ctx.x[0] : ctx.g.node('Mul', [ctx.x[0], ctx.g.float32([inner], [])], { name: `${ctx.name}_scale` });
    if (outer === 1) {
      ctx.g.node('Exp', [scaled], { outputs: ctx.y, name: ctx.name });
      return;
    }
    const e = ctx.g.node('Exp', [scaled], { name: `${ctx.name}_exp` });
    ctx.g.node('Mul', [e, ctx.g.float32([outer], [])], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe: dx = (y * dy) * inner, inner = log(base) * scale.
    const p = ctx.param('exp_param');
    const [base, scale] = ['base', 'scale'].map((f) => Math.fround(p.num(f)));
    const inner = Math.fround((base === -1 ? 1 : Math.fround(Math.log(base))) * scale);
    const dx = ctx.g.node('Mul', [ctx.y[0], ctx.dy[0]!], { name: `${ctx.name}_y_dy` });
    return { dx: [inner === 1 ? dx : ctx.g.node('Mul', [dx, ctx.g.float32([inner], [])], { name: `${ctx.name}_dx` })] };
  },
};
