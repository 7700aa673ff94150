// Eltwise: element-wise PROD, SUM (optionally with one coefficient per bottom) or MAX of bottoms that all have
// the same shape; the top has that shape.
import { CaffeToolError } from '../errors.js';
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
};
