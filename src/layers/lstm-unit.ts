// LSTMUnit: one LSTM step. Bottoms c_prev [1, N, D], gate inputs [1, N, 4D] (i, f, o, g) and cont [1, N];
// tops c and h, both [1, N, D]. No learned blobs (the gate weights live in the layers before it).
import { CaffeToolError } from '../errors.js';
import { formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const lstmUnit: LayerDef = {
  type: 'LSTMUnit',
  bottoms: [3, 3],
  tops: [2, 2],
  outputShapes(ctx) {
    const names = ['c_prev', 'gate input', 'cont'];
    const c = ctx.inputs[0];
    if (c.length !== 3) throw new CaffeToolError(`the c_prev input (bottom 0) must be [1, N, D], got ${formatShape(c)}`);
    const n = c[1];
    ctx.inputs.forEach((s, i) => {
      const axes = i === 2 ? 2 : 3;
      if (s.length !== axes || s[0] !== 1 || s[1] !== n) {
        throw new CaffeToolError(`the ${names[i]} input (bottom ${i}) must be ${axes === 3 ? '[1, N, ...]' : '[1, N]'} with N = ${n} (from c_prev), got ${formatShape(s)}`);
      }
    });
    const d = c[2];
    if (ctx.inputs[1][2] !== 4 * d) {
      throw new CaffeToolError(`the gate input must have 4 x ${d} = ${4 * d} values per stream (i, f, o, g for the ${d} cells of c_prev), got ${ctx.inputs[1][2]}`);
    }
    return [[...c], [...c]];
  },
};
