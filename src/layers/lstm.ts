// LSTM: x [T, N, ...] and cont [T, N] (plus an optional static input [N, ...]) to h [T, N, num_output].
// Blobs, in the order Caffe's unrolled net owns them: W_xc [4H, I], b_c [4H], W_xc_static [4H, S] (with a
// static input), W_hc [4H, H], where H = num_output, I = features of x per step, S = static features.
import { recurrentGeometry, recurrentOutputs } from './recurrent.js';
import type { BlobSpec, LayerDef } from './types.js';

const STATES = ['h_0', 'c_0'];

export const lstm: LayerDef = {
  type: 'LSTM',
  param: 'recurrent_param',
  bottoms: [2, 5],
  tops: [1, 3],
  noOnnx:
    'Caffe\'s LSTM resets its state wherever cont is 0, at any timestep, and orders its gates i, f, o, g: ONNX LSTM has neither the mid-sequence resets nor that layout, and unrolling the steps is not implemented',
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
};
