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
};
