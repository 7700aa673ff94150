// RNN: x [T, N, ...] and cont [T, N] (plus an optional static input [N, ...]) to o [T, N, num_output], with
// h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h) and o_t = tanh(W_ho h_t + b_o). Blobs, in the order Caffe's
// unrolled net owns them: W_xh [H, I], b_h [H], W_xh_static [H, S] (with a static input), W_hh [H, H],
// W_ho [H, H], b_o [H], where H = num_output, I = features of x per step, S = static features.
import { recurrentGeometry, recurrentOutputs, transposedWeight, unrollInputs } from './recurrent.js';
import type { BlobSpec, LayerDef } from './types.js';

const STATES = ['h_0'];

export const rnn: LayerDef = {
  type: 'RNN',
  param: 'recurrent_param',
  bottoms: [2, 4],
  tops: [1, 2],
  outputShapes: (ctx) => recurrentOutputs(recurrentGeometry(ctx, STATES)),
  blobs(ctx) {
    const g = recurrentGeometry(ctx, STATES);
    const h = g.numOutput;
    const blobs: BlobSpec[] = [{ role: 'W_xh', shape: [h, g.inputDim] }, { role: 'b_h', shape: [h] }];
    if (g.staticDim !== undefined) blobs.push({ role: 'W_xh_static', shape: [h, g.staticDim] });
    blobs.push({ role: 'W_hh', shape: [h, h] }, { role: 'W_ho', shape: [h, h] }, { role: 'b_o', shape: [h] });
    return blobs;
  },
  macs(ctx) {
    const g = recurrentGeometry(ctx, STATES);
    const h = g.numOutput;
    return g.T * g.N * h * (g.inputDim + 2 * h) + (g.staticDim ?? 0) * g.N * h;
  },
  toOnnx(ctx) {
    // Caffe's unrolled net (rnn_layer.cpp): h_t = tanh(W_hh (cont_t * h_{t-1}) + (W_xh x_t + b_h) (+ W_xh_static
    // x_static)), o_t = tanh(W_ho h_t + b_o). Without expose_hidden h_0 = 0, so the first step's recurrent term is
    // exactly 0 and left out. The output transform is the same for every step: one MatMul over all of them.
    const g = recurrentGeometry(ctx, STATES);
    const h = g.numOutput;
    const hasStatic = g.staticDim !== undefined;
    const w = ctx.weights.slice(hasStatic ? 3 : 2);
    const u = unrollInputs(ctx, g, h, ctx.weights[0], ctx.weights[1], hasStatic ? ctx.weights[2] : undefined);
    const whhT = transposedWeight(ctx, w[0], h, h, 'W_hh');
    let hPrev: string | undefined = u.states[0];
    const hs: string[] = [];
    for (let t = 0; t < g.T; t++) {
      const step = `${ctx.name}_t${t + 1}`;
      let input = u.xt[t];
      if (hPrev) {
        const conted = ctx.g.node('Mul', [hPrev, u.cont[t]], { name: `${step}_h_conted` });
        input = ctx.g.node('Add', [ctx.g.node('MatMul', [conted, whhT], { name: `${step}_W_hh_h` }), input], { name: `${step}_h_input` });
      }
      if (u.xStatic) input = ctx.g.node('Add', [input, u.xStatic], { name: `${step}_h_static` });
      hPrev = ctx.g.node('Tanh', [input], { name: `${step}_h` });
      hs.push(hPrev);
    }
    const all = g.T === 1 ? hs[0] : ctx.g.node('Concat', hs, { attrs: { axis: 0 }, name: `${ctx.name}_h` });
    const transformed = ctx.g.node('MatMul', [all, transposedWeight(ctx, w[1], h, h, 'W_ho')], { name: `${ctx.name}_W_ho_h` });
    const biased = ctx.g.node('Add', [transformed, ctx.g.initializer(`${ctx.name}_b_o`, w[2], [h])], { name: `${ctx.name}_o_input` });
    ctx.g.node('Tanh', [biased], { outputs: [ctx.y[0]], name: ctx.name });
    if (g.exposedTops) ctx.g.node('Identity', [hPrev as string], { outputs: [ctx.y[1]], name: `${ctx.name}_h_T` });
  },
};
