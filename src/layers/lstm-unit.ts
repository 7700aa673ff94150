// LSTMUnit: one LSTM step. Bottoms c_prev [1, N, D], gate inputs [1, N, 4D] (i, f, o, g) and cont [1, N];
// tops c and h, both [1, N, D]. No learned blobs (the gate weights live in the layers before it).
import { CaffeToolError } from '../errors.js';
import { formatShape } from './shape.js';
import type { OnnxGraph } from '../convert/onnx/graph.js';
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
  toOnnx(ctx) {
    const cont = ctx.g.node('Unsqueeze', [ctx.x[2], ctx.g.int64([2])], { name: `${ctx.name}_cont` });
    lstmStep(ctx.g, ctx.name, ctx.inputs[0][2], { cPrev: ctx.x[0], gates: ctx.x[1], cont }, ctx.y);
  },
};

/**
 * One LSTMUnit step as ONNX nodes. Per stream n and cell d: i = sigmoid(x_i), f = cont[n] * sigmoid(x_f) (0 where
 * cont is 0), o = sigmoid(x_o), g = tanh(x_g); c = f * c_prev + i * g; h = o * tanh(c). `gates` is [1, N, 4D] in the
 * order i, f, o, g, `cont` [1, N, 1]; no `cPrev` means c_prev = 0 (the f * c_prev term is then 0 and left out).
 * Returns [c, h], named `outputs` where given. The LSTM layer unrolls its timesteps with it.
 */
export function lstmStep(g: OnnxGraph, name: string, d: number, v: { cPrev?: string; gates: string; cont: string }, outputs: (string | undefined)[] = []): [string, string] {
  const [xi, xf, xo, xg] = g.nodeN('Split', [v.gates, g.int64([d, d, d, d])], 4, { attrs: { axis: 2 }, name: `${name}_gates` });
  const sigmoid = (x: string, what: string) => g.node('Sigmoid', [x], { name: `${name}_${what}` });
  const named = (i: number) => (outputs[i] ? { outputs: [outputs[i] as string] } : {});
  const input = g.node('Mul', [sigmoid(xi, 'i'), g.node('Tanh', [xg], { name: `${name}_g` })], v.cPrev ? { name: `${name}_input` } : { name: `${name}_c`, ...named(0) });
  let c = input;
  if (v.cPrev) {
    const f = g.node('Mul', [v.cont, sigmoid(xf, 'f')], { name: `${name}_forget` });
    const kept = g.node('Mul', [f, v.cPrev], { name: `${name}_keep` });
    c = g.node('Add', [kept, input], { name: `${name}_c`, ...named(0) });
  }
  const h = g.node('Mul', [sigmoid(xo, 'o'), g.node('Tanh', [c], { name: `${name}_tanh_c` })], { name, ...named(1) });
  return [c, h];
}
