// Log: y = log_base(shift + scale x), natural log when base is -1; element-wise, same shape.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const log: LayerDef = {
  type: 'Log',
  param: 'log_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const base = ctx.param('log_param').num('base');
    if (base !== -1 && !(base > 0)) throw new CaffeToolError(`log_param.base must be positive (or -1 for e), got ${base}`);
    // Caffe multiplies by 1/log(base), which is infinite for base 1.
    if (base === 1) throw new CaffeToolError('log_param.base cannot be 1: log(1) = 0 and Caffe divides by it');
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    const p = ctx.param('log_param');
    const [base, scale, shift] = ['base', 'scale', 'shift'].map((f) => Math.fround(p.num(f)));
    // Caffe's steps with its float constants: scale, shift, log, then times 1/log(base).
    const baseScale = base === -1 ? 1 : Math.fround(1 / Math.fround(Math.log(base)));
    let t = ctx.x[0];
    if (scale !== 1) t = ctx.g.node('Mul', [t, ctx.g.float32([scale], [])], { name: `${ctx.name}_scale` });
    if (shift !== 0) t = ctx.g.node('Add', [t, ctx.g.float32([shift], [])], { name: `${ctx.name}_shift` });
    ctx.train?.save('argument', t);
    if (baseScale === 1) {
      ctx.g.node('Log', [t], { outputs: ctx.y, name: ctx.name });
      return;
    }
    const l = ctx.g.node('Log', [t], { name: `${ctx.name}_log` });
    ctx.g.node('Mul', [l, ctx.g.float32([baseScale], [])], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe: dx = dy * (scale x + shift)^-1 * (scale / log(base)), the last factor in float and skipped when 1.
    const p = ctx.param('log_param');
    const [base, scale] = ['base', 'scale'].map((f) => Math.fround(p.num(f)));
    const numScale = Math.fround(scale / (base === -1 ? 1 : Math.fround(Math.log(base))));
    let slope = ctx.g.node('Reciprocal', [ctx.saved('argument')], { name: `${ctx.name}_reciprocal` });
    if (numScale !== 1) slope = ctx.g.node('Mul', [slope, ctx.g.float32([numScale], [])], { name: `${ctx.name}_slope` });
    return { dx: [ctx.g.node('Mul', [ctx.dy[0]!, slope], { name: `${ctx.name}_dx` })] };
  },
};
