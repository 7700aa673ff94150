// RNN: x [T, N, ...] and cont [T, N] (plus an optional static input [N, ...]) to o [T, N, num_output], with
// h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h) and o_t = tanh(W_ho h_t + b_o). Blobs, in the order Caffe's
// unrolled net owns them: W_xh [H, I], b_h [H], W_xh_static [H, S] (with a static input), W_hh [H, H],
// W_ho [H, H], b_o [H], where H = num_output, I = features of x per step, S = static features.
import { recurrentGeometry, recurrentOutputs } from './recurrent.js';
import type { BlobSpec, LayerDef } from './types.js';

const STATES = ['h_0'];

export const rnn: LayerDef = {
  type: 'RNN',
  param: 'recurrent_param',
  bottoms: [2, 4],
  tops: [1, 2],
  noOnnx:
    'Caffe\'s RNN resets its state wherever cont is 0, at any timestep, and has a second (output) transform o = tanh(W_ho h + b_o): ONNX RNN has neither, and unrolling the steps is not implemented',
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
};
