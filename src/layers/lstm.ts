// LSTM: x [T, N, ...] and cont [T, N] (plus an optional static input [N, ...]) to h [T, N, num_output].
// Blobs, in the order Caffe's unrolled net owns them: W_xc [4H, I], b_c [4H], W_xc_static [4H, S] (with a
// static input), W_hc [4H, H], where H = num_output, I = features of x per step, S = static features.
import { lstmStep } from './lstm-unit.js';
import { recurrentGeometry, recurrentOutputs, transposedWeight, unrollInputs } from './recurrent.js';
import type { BlobSpec, LayerDef } from './types.js';

const STATES = ['h_0', 'c_0'];

export const lstm: LayerDef = {
  type: 'LSTM',
  param: 'recurrent_param',
  bottoms: [2, 5],
  tops: [1, 3],
  outputShapes: (ctx) => recurrentOutputs(recurrentGeometry(ctx, STATES)),
  blobs(ctx) {
    const g = recurrentGeometry(ctx, STATES);
    const gates = 4 * g.numOutput;
    const blobs: BlobSpec[] = [{ role: 'W_xc', shape: [gates, g.inputDim] }, { role: 'b_c', shape: [gates] }];
    if (g.staticDim !== undefined) blobs.push({ role: 'W_xc_static', shape: [gates, g.staticDim] });
    blobs.push({ role: 'W_hc', shape: [gates, g.numOutput] });
    return blobs;
  },
  macs(ctx) {
    const g = recurrentGeometry(ctx, STATES);
    const gates = 4 * g.numOutput;
    return g.T * g.N * gates * (g.inputDim + g.numOutput) + (g.staticDim ?? 0) * g.N * gates;
  },
  toOnnx(ctx) {
    // Caffe's unrolled net, step by step (lstm_layer.cpp): h_conted = cont_t * h_{t-1}; gate_input_t =
    // W_hc h_conted + (W_xc x_t + b_c) (+ W_xc_static x_static); (c_t, h_t) = LSTMUnit(c_{t-1}, gate_input_t, cont_t).
    // Without expose_hidden h_0 = c_0 = 0, so the first step's recurrent terms are exactly 0 and left out.
    const g = recurrentGeometry(ctx, STATES);
    const h = g.numOutput;
    const gates = 4 * h;
    const hasStatic = g.staticDim !== undefined;
    const [wx, bx] = ctx.weights;
    const u = unrollInputs(ctx, g, gates, wx, bx, hasStatic ? ctx.weights[2] : undefined);
    const whT = transposedWeight(ctx, ctx.weights[hasStatic ? 3 : 2], gates, h, 'W_hc');
    let [hPrev, cPrev] = u.states.length ? u.states : [undefined, undefined];
    const hs: string[] = [];
    for (let t = 0; t < g.T; t++) {
      const step = `${ctx.name}_t${t + 1}`;
      let gate = u.xt[t];
      if (hPrev) {
        const conted = ctx.g.node('Mul', [hPrev, u.cont[t]], { name: `${step}_h_conted` });
        gate = ctx.g.node('Add', [ctx.g.node('MatMul', [conted, whT], { name: `${step}_W_hc_h` }), gate], { name: `${step}_gate_input` });
      }
      if (u.xStatic) gate = ctx.g.node('Add', [gate, u.xStatic], { name: `${step}_gate_static` });
      [cPrev, hPrev] = lstmStep(ctx.g, step, h, { cPrev, gates: gate, cont: u.cont[t] });
      hs.push(hPrev);
    }
    ctx.g.node(g.T === 1 ? 'Identity' : 'Concat', hs, { outputs: [ctx.y[0]], name: ctx.name, ...(g.T === 1 ? {} : { attrs: { axis: 0 } }) });
    if (g.exposedTops) {
      ctx.g.node('Identity', [hPrev as string], { outputs: [ctx.y[1]], name: `${ctx.name}_h_T` });
      ctx.g.node('Identity', [cPrev as string], { outputs: [ctx.y[2]], name: `${ctx.name}_c_T` });
    }
  },
};
