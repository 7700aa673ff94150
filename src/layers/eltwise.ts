// Eltwise: element-wise PROD, SUM (optionally with one coefficient per bottom) or MAX of bottoms that all have
// the same shape; the top has that shape.
import { CaffeToolError } from '../errors.js';
import { filledLikeInput } from './power.js';
import { formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const eltwise: LayerDef = {
  type: 'Eltwise',
  param: 'eltwise_param',
  bottoms: [2, Infinity],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('eltwise_param');
    const coeffs = p.list('coeff').length;
    if (coeffs && coeffs !== ctx.inputs.length) {
      throw new CaffeToolError(`eltwise_param has ${coeffs} coeff values for ${ctx.inputs.length} bottoms: give one per bottom, or none`);
    }
    // Caffe refuses coefficients only for PROD; with MAX it accepts and ignores them.
    if (coeffs && p.str('operation') === 'PROD') throw new CaffeToolError('eltwise_param.coeff is only for operation SUM, not PROD');
    const first = ctx.inputs[0];
    ctx.inputs.forEach((s, i) => {
      if (s.length !== first.length || s.some((d, j) => d !== first[j])) {
        throw new CaffeToolError(
          `all bottoms must have the same shape: bottom ${i} '${ctx.bottoms[i]}' is ${formatShape(s)}, bottom 0 '${ctx.bottoms[0]}' is ${formatShape(first)}`,
        );
      }
    });
    return [[...first]];
  },
  toOnnx(ctx) {
    const p = ctx.param('eltwise_param');
    const op = p.str('operation');
    const out = { outputs: ctx.y, name: ctx.name };
    if (op === 'PROD') {
      // Caffe multiplies left to right: ((x0 x1) x2) ...
      let t = ctx.x[0];
      ctx.x.slice(1).forEach((x, i) => {
        t = ctx.g.node('Mul', [t, x], i === ctx.x.length - 2 ? out : { name: `${ctx.name}_mul` });
      });
      return;
    }
    if (op === 'MAX') {
      ctx.g.node('Max', ctx.x, out);
      return;
    }
    if (op !== 'SUM') throw new CaffeToolError(`unknown eltwise_param.operation ${op}`);
    // SUM: Caffe adds coeff_i * x_i (axpy) for each bottom. Reference BLAS and OpenBLAS return at once from an axpy
    // with coefficient 0, so such a bottom adds nothing (not even its NaNs): it is left out.
    const coeffs = p.list('coeff');
    const terms = ctx.x.map((x, i) => ({ x, c: coeffs.length ? Math.fround(coeffs[i]) : 1 })).filter((t) => t.c !== 0);
    if (!terms.length) {
      filledLikeInput(ctx, 0);
      return;
    }
    if (terms.length === 1) {
      const [t] = terms;
      if (t.c === 1) ctx.g.node('Identity', [t.x], out);
      else ctx.g.node('Mul', [t.x, ctx.g.float32([t.c], [])], out);
      return;
    }
    // Coefficients 1 and -1 (a difference of two bottoms): one Sub.
    if (terms.length === 2 && terms[0].c * terms[1].c === -1 && Math.abs(terms[0].c) === 1) {
      const [plus, minus] = terms[0].c === 1 ? terms : [terms[1], terms[0]];
      ctx.g.node('Sub', [plus.x, minus.x], out);
      return;
    }
    const scaled = terms.map((t) => (t.c === 1 ? t.x : ctx.g.node('Mul', [t.x, ctx.g.float32([t.c], [])], { name: `${ctx.name}_coeff` })));
    ctx.g.node(scaled.length === 2 ? 'Add' : 'Sum', scaled, out);
  },
  gradient(ctx) {
    const p = ctx.param('eltwise_param');
    const op = p.str('operation');
    const dy = ctx.dy[0]!;
    const mul = (a: string, b: string, what: string) => ctx.g.node('Mul', [a, b], { name: `${ctx.name}_${what}` });
    if (op === 'SUM') {
      // coeff_i * dy (Caffe scales even by 0 here, unlike its forward axpy).
      const coeffs = p.list('coeff');
      return { dx: ctx.x.map((_, i) => {
        const c = coeffs.length ? Math.fround(coeffs[i]) : 1;
        return !ctx.needDx[i] || c === 1 ? dy : mul(dy, ctx.g.float32([c], []), 'dx');
      }) };
    }
    if (op === 'PROD') {
      // stable_prod_grad (default): the product of the other bottoms, in bottom order; otherwise Caffe divides the
      // top by the bottom (infinite or NaN where the bottom is 0).
      const stable = p.bool('stable_prod_grad');
      return { dx: ctx.x.map((x, i) => {
        if (!ctx.needDx[i]) return undefined;
        let d: string;
        if (stable) {
          const others = ctx.x.filter((_, j) => j !== i);
          d = others.slice(1).reduce((t, o) => mul(t, o, 'others'), others[0]);
        } else d = ctx.g.node('Div', [ctx.y[0], x], { name: `${ctx.name}_top_over_x` });
        return mul(d, dy, 'dx');
      }) };
    }
    // MAX: the gradient goes to the bottom Caffe's forward recorded as the max: between bottoms 0 and 1 a tie goes
    // to 1 (it takes 0 only when strictly greater), a later bottom takes over only when strictly greater.
    const zero = ctx.g.float32([0], []);
    const firstWins = ctx.g.node('Greater', [ctx.x[0], ctx.x[1]], { name: `${ctx.name}_first_wins` });
    if (ctx.x.length === 2) {
      return { dx: [
        ctx.needDx[0] ? ctx.g.node('Where', [firstWins, dy, zero], { name: `${ctx.name}_dx` }) : undefined,
        ctx.needDx[1] ? ctx.g.node('Where', [firstWins, zero, dy], { name: `${ctx.name}_dx` }) : undefined,
      ] };
    }
    let index = ctx.g.node('Where', [firstWins, zero, ctx.g.float32([1], [])], { name: `${ctx.name}_argmax` });
    let max = ctx.g.node('Max', [ctx.x[0], ctx.x[1]], { name: `${ctx.name}_max` });
    ctx.x.slice(2).forEach((x, k) => {
      const wins = ctx.g.node('Greater', [x, max], { name: `${ctx.name}_wins` });
      index = ctx.g.node('Where', [wins, ctx.g.float32([k + 2], []), index], { name: `${ctx.name}_argmax` });
      if (k + 3 < ctx.x.length) max = ctx.g.node('Max', [max, x], { name: `${ctx.name}_max` });
    });
    return { dx: ctx.x.map((_, i) => {
      if (!ctx.needDx[i]) return undefined;
      const mine = ctx.g.node('Equal', [index, ctx.g.float32([i], [])], { name: `${ctx.name}_is_max` });
      return ctx.g.node('Where', [mine, dy, zero], { name: `${ctx.name}_dx` });
    }) };
  },
};
