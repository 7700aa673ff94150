// The two halves of a convolution's backward as ONNX nodes, shared by Convolution, Deconvolution and
// ConvolutionDepthwise. For y = Conv(x, W) with W [M, C/group, k...]:
// - the data gradient is a Conv of dy with the flipped kernel ("same" windows of stride 1), or W^T dy added into
//   the image by Col2Im, or ConvTranspose(dy, W), whose output_padding restores the rows the stride skipped;
// - the weight gradient is dy times x's columns (im2col by one Conv); or, per kernel tap, a product of dy and the
//   values of x that tap reads; or a Conv of x against dy with batch and channels swapped: x seen as a batch of C/group images with group x N channels, dy as
//   M filters over N channels, the stride and dilation exchanged (convWeightGrad says which when).
import type { OnnxGraph } from '../convert/onnx/graph.js';
import { allButChannels, zeros } from './broadcast-grad.js';
import { blockedConv } from './conv-blocked.js';
import { count } from './shape.js';
import type { GradContext, Gradients, Shape } from './types.js';

/** The window of a convolution on its spatial axes. */
export interface ConvWindow {
  kernel: number[];
  stride: number[];
  pad: number[];
  dilation: number[];
  group: number;
}

const extent = (w: ConvWindow, i: number) => w.dilation[i] * (w.kernel[i] - 1) + 1;

/**
 * The gradient of x [N, C, ...in] from dy [N, M, ...out] and the weights w [M, C/group, k...]. `on.nchwcBlock`: the
 * CPU's NCHWc block (the full-correlation Conv may be blocked); `on.cpu`: the graph runs on the CPU provider.
 */
export function convDataGrad(g: OnnxGraph, name: string, dy: string, w: string, win: ConvWindow, input: Shape, output: Shape, on: { nchwcBlock?: number; cpu?: boolean } = {}): string {
  const full = win.kernel.map((_, i) => extent(win, i) - 1 - win.pad[i]);
  // The plain Conv computes over every input position: worth it only where the output is as large ("same" padding).
  const same = count(input.slice(2)) <= count(output.slice(2));
  if (same && win.stride.every((s) => s === 1) && full.every((p) => p >= 0)) return fullCorrelation(g, name, dy, w, win, full, input[1], output[1], on.nchwcBlock);
  const columns = input[0] * input[1] * count(win.kernel) * count(output.slice(2));
  if (on.cpu && g.opset >= 18 && win.kernel.length === 2 && columns <= im2colLimit.floats) return dataGradByCol2Im(g, name, dy, w, win, input, output);
  // Input rows past the last window's reach get no gradient: output_padding (< stride) adds them as zeros.
  const outputPadding = win.kernel.map((_, i) => input[2 + i] - (win.stride[i] * (output[2 + i] - 1) + extent(win, i) - 2 * win.pad[i]));
  return g.node('ConvTranspose', [dy, w], {
    name,
    attrs: {
      kernel_shape: win.kernel, strides: win.stride, pads: [...win.pad, ...win.pad], dilations: win.dilation, group: win.group,
      ...(outputPadding.some((p) => p !== 0) ? { output_padding: outputPadding } : {}),
    },
  });
}

/**
 * ConvTranspose's own two steps, each on every thread: per image and group, the columns W^T [C/group x taps, M/group]
 * x dy [M/group, P] in one batched MatMul, then Col2Im adds them into the image (CPU provider only). ONNX Runtime's
 * ConvTranspose runs one image at a time: LeNet's conv2 (50->20, 8x8 -> 12x12, batch 64) took 1.8 ms on 16
 * threads and 2.5 ms on 2, this 1.3 and 2.0 ms. On 2 threads, bit for bit the same result: 512->256 3x3 stride 2,
 * 7x7 -> 14x14, batch 2, 2.4 against 6.2 ms; 128->64 at 28x28 -> 56x56, batch 8, 18 against 23 ms.
 */
function dataGradByCol2Im(g: OnnxGraph, name: string, dy: string, w: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const m = output[1];
  const groups = win.group;
  const taps = count(win.kernel);
  const wT = g.node('Transpose', [g.node('Reshape', [w, g.int64([groups, m / groups, (c / groups) * taps])], { name: `${name}_w_groups` })], {
    name: `${name}_w_t`, attrs: { perm: [0, 2, 1] },
  });
  const dyk = g.node('Reshape', [dy, g.int64([n, groups, m / groups, count(output.slice(2))])], { name: `${name}_dy` });
  const columns = g.node('Reshape', [g.node('MatMul', [wT, dyk], { name: `${name}_columns` }), g.int64([n, c * taps, count(output.slice(2))])], { name: `${name}_columns_k` });
  return g.node('Col2Im', [columns, g.int64(input.slice(2)), g.int64(win.kernel)], {
    name, attrs: { dilations: win.dilation, pads: [...win.pad, ...win.pad], strides: win.stride },
  });
}

/**
 * With stride 1 the data gradient is a plain convolution of dy with the kernel flipped and its channel axes
 * exchanged (per group), padded to a full correlation: ONNX Runtime runs Conv in its blocked layout, about 1.5x
 * faster than ConvTranspose on LeNet's conv2 (4.8 ms against ConvTranspose's, batch 64, 2 threads).
 */
function fullCorrelation(g: OnnxGraph, name: string, dy: string, w: string, win: ConvWindow, pads: number[], c: number, m: number, nchwcBlock?: number): string {
  const rank = win.kernel.length;
  const group = win.group;
  // w [M, C/g, k...] -> [g, M/g, C/g, k...] -> [g, C/g, M/g, k...] -> [C, M/g, k...], then every spatial axis reversed.
  let swapped = w;
  if (m / group > 1 && c / group > 1) {
    const grouped = g.node('Reshape', [w, g.int64([group, m / group, c / group, ...win.kernel])], { name: `${name}_w_groups` });
    swapped = g.node('Transpose', [grouped], { name: `${name}_w_swap`, attrs: { perm: [0, 2, 1, ...win.kernel.map((_, i) => 3 + i)] } });
  }
  const merged = g.node('Reshape', [swapped, g.int64([c, m / group, ...win.kernel])], { name: `${name}_w_merge` });
  const axes = win.kernel.map((_, i) => 2 + i);
  const flipped = g.node('Slice', [merged, g.int64(axes.map(() => -1)), g.int64(axes.map(() => -(2 ** 62))), g.int64(axes), g.int64(axes.map(() => -1))], { name: `${name}_w_flip` });
  const attrs = { kernel_shape: win.kernel, strides: Array<number>(rank).fill(1), pads: [...pads, ...pads], dilations: win.dilation, group };
  return blockedConv(g, name, dy, flipped, [], attrs, m, c, nchwcBlock, g.unique(`${name}_out`));
}

/**
 * The size bound, in floats, of the columns that the im2col weight gradient and the Col2Im data gradient make, and
 * of im2col's per-image products; its one-hot filters (C x taps x taps, stored in the model) get a 16th of it.
 * Tests set it to 0 to build the other formulations.
 */
export const im2colLimit = { floats: 1 << 22 };

/**
 * The gradient of w [M, C/group, k...] from x [N, C, ...in] and dy [N, M, ...out], summed over the batch. Four
 * formulations, measured on ONNX Runtime's CPU provider (2 threads unless said; rough figures, a busy machine):
 * - while x's columns (N x C x taps x positions) and the per-image products (N x M x C/group x taps) fit in
 *   im2colLimit: one Conv writes the columns, one batched MatMul and a ReduceSum over the batch give dW
 *   (weightGradByIm2col, every op on every thread). LeNet's conv2 (20->50 5x5, 8x8 out, batch 64): 0.60 ms on
 *   16 threads, 2.2 ms on 2, against 4.7 and 4.0 ms by slices; conv1 (1->20): 0.21 and 0.81 ms against the
 *   swapped Conv's 1.07 and 1.10;
 * - from about 8 channels per group, per kernel tap: the values of x the tap reads times dy. On large planes (512
 *   output positions per image and more) the reads come from a depthwise Conv and the product is batched per image
 *   (weightGradByTapConvs, every op on every thread); on small ones, from a Slice of padded x, with one GEMM over
 *   K = N x positions per tap (weightGradBySlices: a few good GEMMs instead of N tiny ones). 64->64 3x3 at 360x480
 *   batch 4: 0.74 s against 1.07 s by slices (16 threads: 0.21 s; a Slice per tap alone took 0.35 s there); LeNet's
 *   conv2 (20->50 5x5, 8x8 out, batch 64): 19 ms against 9 ms by slices; 64->64 3x3 at 23x30, batch 4: 4.2 against
 *   5.1 ms;
 * - else the swapped Conv, whose GEMM per input channel is [M/group, K] x [K, taps], thin when there are few taps.
 *   Slices against swapped Conv: 64->64 3x3 at 180x240 2.6 s / 4.0 s, 512->512 3x3 at 23x30 1.3 s / 3.3 s, 64->128
 *   1x1 stride 2 at 90x120 0.12 s / 0.48 s, 8->16 3x3 at 90x120 88 / 110 ms; but 3->64 3x3 at 360x480 2.3 s /
 *   0.76 s, 4->16 3x3 at 90x120 82 / 58 ms, and LeNet's conv1 (1->20 5x5, batch 64) 152 / 9 ms.
 */
export function convWeightGrad(g: OnnxGraph, name: string, x: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const taps = count(win.kernel);
  const columns = n * c * taps * count(output.slice(2));
  const products = n * output[1] * (c / win.group) * taps;
  // Below 8 channels per group the swapped Conv's GEMMs are thin: im2col wins at 8x the bound too (3->64 3x3 at
  // 360x480, batch 4, 2 threads: 30 against 107 ms, with 75 MB of columns).
  const few = c / win.group < 8;
  const filters = c * taps * taps;
  if (Math.max(columns, products) <= im2colLimit.floats * (few ? 8 : 1) && filters <= im2colLimit.floats / 16) {
    return weightGradByIm2col(g, name, x, dy, win, input, output);
  }
  if (few) return weightGradBySwappedConv(g, name, x, dy, win, input, output);
  return count(output.slice(2)) >= 512 ? weightGradByTapConvs(g, name, x, dy, win, input, output) : weightGradBySlices(g, name, x, dy, win, input, output);
}

/**
 * im2col as one Conv: x's channel c through `taps` one-hot filters (group = C, exact: one product by 1, the rest
 * by 0) gives columns [N, C x taps, positions], channel c x taps + t holding what tap t reads. Per image and group,
 * dy [M/group, P] x columns^T [P, C/group x taps], then the sum over the images.
 */
function weightGradByIm2col(g: OnnxGraph, name: string, x: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const m = output[1];
  const groups = win.group;
  const taps = count(win.kernel);
  const positions = count(output.slice(2));
  const onehot = new Float32Array(c * taps * taps);
  for (let ch = 0; ch < c; ch++) for (let t = 0; t < taps; t++) onehot[(ch * taps + t) * taps + t] = 1;
  const columns = g.node('Conv', [x, g.float32(onehot, [c * taps, 1, ...win.kernel])], {
    name: `${name}_columns`,
    attrs: { kernel_shape: win.kernel, strides: win.stride, pads: [...win.pad, ...win.pad], dilations: win.dilation, group: c },
  });
  const columnsT = g.node('Transpose', [g.node('Reshape', [columns, g.int64([n, groups, (c / groups) * taps, positions])], { name: `${name}_columns_k` })], {
    name: `${name}_columns_t`, attrs: { perm: [0, 1, 3, 2] },
  });
  const dyk = g.node('Reshape', [dy, g.int64([n, groups, m / groups, positions])], { name: `${name}_dy` });
  const product = g.node('MatMul', [dyk, columnsT], { name: `${name}_products` });
  // ONNX Runtime's ReduceSum over an axis of 1 took 7 ms on a 512->512 3x3 product that is already the sum.
  const summed = n === 1 ? product : g.node('ReduceSum', [product, g.int64([0])], { name: `${name}_batch`, attrs: { keepdims: 0 } });
  return g.node('Reshape', [summed, g.int64([m, c / groups, ...win.kernel])], { name });
}

/**
 * Per tap t: read_t [N, C, ...out] = x at o * stride + t * dilation - pad, as a Conv of x with the layer's own
 * window and a one-hot depthwise kernel (exact: one product by 1, the rest by 0), then dW[:, :, t] = sum over n of
 * dy[n] [group, M/group, P] x read_t[n]^T [group, P, C/group]. Every op here runs on all of ONNX Runtime's threads
 * (MatMul with the Transpose folded in, batched over images and groups), where a Slice runs on one and a Gemm of
 * [M, K] x [K, C] on few.
 */
function weightGradByTapConvs(g: OnnxGraph, name: string, x: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const m = output[1];
  const groups = win.group;
  const positions = count(output.slice(2));
  const taps = count(win.kernel);
  const sameGrid = win.stride.every((s) => s === 1) && output.slice(2).every((d, i) => d === input[2 + i]);
  const dyk = g.node('Reshape', [dy, g.int64([n, groups, m / groups, positions])], { name: `${name}_dy` });
  const products: string[] = [];
  for (let t = 0; t < taps; t++) {
    // The tap's offset j * dilation - pad on each axis (t in row-major order over the kernel).
    let rest = t;
    const offsets = win.kernel.map((_, i) => {
      const inner = count(win.kernel.slice(i + 1));
      const j = Math.floor(rest / inner);
      rest %= inner;
      return j * win.dilation[i] - win.pad[i];
    });
    let read = x;
    // A tap that reads x where the output is (the centre of a "same" window, or a 1x1 kernel) needs no Conv.
    if (!(sameGrid && offsets.every((o) => o === 0))) {
      const onehot = new Float32Array(c * taps);
      for (let ch = 0; ch < c; ch++) onehot[ch * taps + t] = 1;
      read = g.node('Conv', [x, g.float32(onehot, [c, 1, ...win.kernel])], {
        name: `${name}_tap`,
        attrs: { kernel_shape: win.kernel, strides: win.stride, pads: [...win.pad, ...win.pad], dilations: win.dilation, group: c },
      });
    }
    const readT = g.node('Transpose', [g.node('Reshape', [read, g.int64([n, groups, c / groups, positions])], { name: `${name}_tap_k` })], {
      name: `${name}_tap_t`, attrs: { perm: [0, 1, 3, 2] },
    });
    const product = g.node('MatMul', [dyk, readT], { name: `${name}_tap_grad` });
    products.push(taps === 1 ? product : g.node('Unsqueeze', [product, g.int64([4])], { name: `${name}_tap_axis` }));
  }
  // [N, group, M/group, C/group, taps] summed over N -> [M, C/group, k...].
  const stacked = taps === 1 ? products[0] : g.node('Concat', products, { name: `${name}_taps`, attrs: { axis: 4 } });
  const summed = g.node('ReduceSum', [stacked, g.int64([0])], { name: `${name}_batch`, attrs: { keepdims: 0 } });
  return g.node('Reshape', [summed, g.int64([m, c / groups, ...win.kernel])], { name });
}

function weightGradBySlices(g: OnnxGraph, name: string, x: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const m = output[1];
  const groups = win.group;
  const spatial = input.slice(2);
  const out = output.slice(2);
  const axes = spatial.map((_, i) => 3 + i);
  const k = n * count(out);
  // x -> [group, C/group, N, ...in], zero-padded: a tap's slice of it, reshaped, is the [C/group, K] operand.
  let xs = g.node('Transpose', [g.node('Reshape', [x, g.int64([n, groups, c / groups, ...spatial])], { name: `${name}_x_groups` })], {
    name: `${name}_x`, attrs: { perm: [1, 2, 0, ...axes] },
  });
  if (win.pad.some((p) => p !== 0)) xs = g.node('Pad', [xs, g.int64([0, 0, 0, ...win.pad, 0, 0, 0, ...win.pad])], { name: `${name}_x_pad` });
  if (groups === 1) return weightGradBySlicesGemm(g, name, xs, dy, win, input, output);
  // dy -> [group, K, M/group], once for every tap.
  const dys = g.node('Reshape', [
    g.node('Transpose', [g.node('Reshape', [dy, g.int64([n, groups, m / groups, ...out])], { name: `${name}_dy_groups` })], {
      name: `${name}_dy`, attrs: { perm: [1, 0, ...axes, 2] },
    }),
    g.int64([groups, k, m / groups]),
  ], { name: `${name}_dy_k` });
  const taps: string[] = [];
  const offsets = win.kernel.reduce<number[][]>((all, size) => all.flatMap((o) => Array.from({ length: size }, (_, j) => [...o, j])), [[]]);
  for (const o of offsets) {
    const starts = o.map((j, i) => j * win.dilation[i]);
    const slice = g.node('Slice', [xs, g.int64(starts), g.int64(starts.map((s, i) => s + win.stride[i] * (out[i] - 1) + 1)), g.int64(axes), g.int64(win.stride)], {
      name: `${name}_tap`,
    });
    const product = g.node('MatMul', [g.node('Reshape', [slice, g.int64([groups, c / groups, k])], { name: `${name}_tap_k` }), dys], { name: `${name}_tap_grad` });
    taps.push(g.node('Unsqueeze', [product, g.int64([3])], { name: `${name}_tap_axis` }));
  }
  // [group, C/group, M/group, taps] -> [M, C/group, k...].
  const stacked = taps.length === 1 ? taps[0] : g.node('Concat', taps, { name: `${name}_taps`, attrs: { axis: 3 } });
  const ordered = g.node('Transpose', [stacked], { name: `${name}_order`, attrs: { perm: [0, 2, 1, 3] } });
  return g.node('Reshape', [ordered, g.int64([m, c / groups, ...win.kernel])], { name });
}

/**
 * One group: dy as [M, K] (N moved behind the channels: whole planes copied, not an element-wise transpose with M
 * innermost, which cost as much as the convolution itself at 360x480), each tap's [C, K] slice of x, and
 * Gemm(dy, x_tap, transB) = [M, C] per tap, the transposition left to the GEMM's packing.
 */
function weightGradBySlicesGemm(g: OnnxGraph, name: string, xs: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const m = output[1];
  const out = output.slice(2);
  const axes = out.map((_, i) => 3 + i);
  const k = n * count(out);
  const dyk = g.node('Reshape', [g.node('Transpose', [dy], { name: `${name}_dy`, attrs: { perm: [1, 0, ...out.map((_, i) => 2 + i)] } }), g.int64([m, k])], { name: `${name}_dy_k` });
  const padded = input.slice(2).map((d, i) => d + 2 * win.pad[i]);
  const taps: string[] = [];
  const offsets = win.kernel.reduce<number[][]>((all, size) => all.flatMap((o) => Array.from({ length: size }, (_, j) => [...o, j])), [[]]);
  for (const o of offsets) {
    const starts = o.map((j, i) => j * win.dilation[i]);
    const ends = starts.map((st, i) => st + win.stride[i] * (out[i] - 1) + 1);
    const whole = starts.every((st, i) => st === 0 && ends[i] === padded[i]) && win.stride.every((st) => st === 1);
    const slice = whole ? xs : g.node('Slice', [xs, g.int64(starts), g.int64(ends), g.int64(axes), g.int64(win.stride)], { name: `${name}_tap` });
    const product = g.node('Gemm', [dyk, g.node('Reshape', [slice, g.int64([c, k])], { name: `${name}_tap_k` })], { name: `${name}_tap_grad`, attrs: { transB: 1 } });
    taps.push(offsets.length === 1 ? product : g.node('Unsqueeze', [product, g.int64([2])], { name: `${name}_tap_axis` }));
  }
  const stacked = taps.length === 1 ? taps[0] : g.node('Concat', taps, { name: `${name}_taps`, attrs: { axis: 2 } });
  return g.node('Reshape', [stacked, g.int64([m, c, ...win.kernel])], { name });
}

function weightGradBySwappedConv(g: OnnxGraph, name: string, x: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
  const [n, c] = input;
  const m = output[1];
  const spatial = input.slice(2);
  const rest = spatial.map((_, i) => 3 + i);
  // x [N, C, ...] -> [C/group, group * N, ...]: each input channel of a group is one image of the batch.
  const xs = win.group === 1
    ? g.node('Transpose', [x], { name: `${name}_x`, attrs: { perm: [1, 0, ...rest.map((a) => a - 1)] } })
    : g.node('Reshape', [
      g.node('Transpose', [g.node('Reshape', [x, g.int64([n, win.group, c / win.group, ...spatial])], { name: `${name}_x_groups` })], {
        name: `${name}_x`, attrs: { perm: [2, 1, 0, ...rest] },
      }),
      g.int64([c / win.group, win.group * n, ...spatial]),
    ], { name: `${name}_x_batch` });
  // dy [N, M, ...] -> [M, N, ...]: M filters, group by group over the N images of their group.
  const filters = g.node('Transpose', [dy], { name: `${name}_dy`, attrs: { perm: [1, 0, ...rest.map((a) => a - 1)] } });
  // The swapped Conv reads x at o*stride + j*dilation - pad: its own stride is the dilation, its dilation the
  // stride. End pads make room for exactly k taps; when the input reaches further, the extra taps are sliced off.
  const reach = win.kernel.map((k, i) => win.dilation[i] * (k - 1) + win.stride[i] * (output[2 + i] - 1) + 1 - spatial[i] - win.pad[i]);
  const endPad = reach.map((r) => Math.max(0, r));
  const taps = win.kernel.map((_, i) => Math.floor((spatial[i] + win.pad[i] + endPad[i] - (win.stride[i] * (output[2 + i] - 1) + 1)) / win.dilation[i]) + 1);
  let grad = g.node('Conv', [xs, filters], {
    name: `${name}_conv`,
    attrs: { kernel_shape: output.slice(2), strides: win.dilation, dilations: win.stride, pads: [...win.pad, ...endPad], group: win.group },
  });
  if (taps.some((t, i) => t !== win.kernel[i])) {
    const axes = rest.map((a) => a - 1);
    grad = g.node('Slice', [grad, g.int64(axes.map(() => 0)), g.int64(win.kernel), g.int64(axes)], { name: `${name}_taps` });
  }
  // [C/group, M, k...] -> [M, C/group, k...].
  return g.node('Transpose', [grad], { name, attrs: { perm: [1, 0, ...rest.map((a) => a - 1)] } });
}

/** The gradient of a per-channel bias: dy summed over every axis but the channels (axis 1). */
export function biasGrad(g: OnnxGraph, name: string, dy: string, rank: number): string {
  return g.node('ReduceSum', [dy, g.int64(allButChannels(rank))], { name, attrs: { keepdims: 0 } });
}

/**
 * The gradients of a Convolution or Deconvolution: every bottom/top pair is convolved with the same weights, so
 * each pair gets its own data gradient (`dx`) and their weight (`dW`) and bias gradients add up. A top nothing
 * reached gives its bottom zeros.
 */
export function sharedWeightGrads(
  ctx: GradContext,
  biasTerm: boolean,
  dx: (dy: string, i: number) => string,
  dW: (x: string, dy: string, i: number) => string,
): Gradients {
  const out: Gradients = { dx: [], dw: [] };
  const dWs: string[] = [];
  const dbs: string[] = [];
  ctx.x.forEach((x, i) => {
    const dy = ctx.dy[i];
    if (!dy) {
      if (ctx.needDx[i]) out.dx![i] = zeros(ctx, ctx.inputs[i]);
      return;
    }
    if (ctx.needDx[i]) out.dx![i] = dx(dy, i);
    if (ctx.needDw[0]) dWs.push(dW(x, dy, i));
    if (biasTerm && ctx.needDw[1]) dbs.push(biasGrad(ctx.g, `${ctx.name}_db${i}`, dy, ctx.outputs[i].length));
  });
  if (dWs.length) out.dw![0] = sumGrads(ctx.g, `${ctx.name}_dW`, dWs);
  if (dbs.length) out.dw![1] = sumGrads(ctx.g, `${ctx.name}_db`, dbs);
  return out;
}

function sumGrads(g: OnnxGraph, name: string, parts: string[]): string {
  return parts.length === 1 ? parts[0] : g.node('Sum', parts, { name });
}
