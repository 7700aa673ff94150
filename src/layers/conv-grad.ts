// The two halves of a convolution's backward as ONNX nodes, shared by Convolution, Deconvolution and
// ConvolutionDepthwise. For y = Conv(x, W) with W [M, C/group, k...]:
// - the data gradient is ConvTranspose(dy, W), whose output_padding restores the rows the stride skipped;
// - the weight gradient is a Conv of x against dy with batch and channels swapped: x seen as a batch of C/group
//   images with group x N channels, dy as M filters over N channels, the stride and dilation exchanged.
import type { OnnxGraph } from '../convert/onnx/graph.js';
import type { Shape } from './types.js';

/** The window of a convolution on its spatial axes. */
export interface ConvWindow {
  kernel: number[];
  stride: number[];
  pad: number[];
  dilation: number[];
  group: number;
}

const extent = (w: ConvWindow, i: number) => w.dilation[i] * (w.kernel[i] - 1) + 1;

/** The gradient of x [N, C, ...in] from dy [N, M, ...out] and the weights w [M, C/group, k...]. */
export function convDataGrad(g: OnnxGraph, name: string, dy: string, w: string, win: ConvWindow, input: Shape, output: Shape): string {
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

/** The gradient of w [M, C/group, k...] from x [N, C, ...in] and dy [N, M, ...out], summed over the batch. */
export function convWeightGrad(g: OnnxGraph, name: string, x: string, dy: string, win: ConvWindow, input: Shape, output: Shape): string {
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
  return g.node('ReduceSum', [dy, g.int64([0, ...Array.from({ length: rank - 2 }, (_, i) => 2 + i)])], { name, attrs: { keepdims: 0 } });
}

/** Sum gradients of one blob (a layer with several bottom/top pairs shares its weights). */
export function sumGrads(g: OnnxGraph, name: string, parts: string[]): string {
  return parts.length === 1 ? parts[0] : g.node('Sum', parts, { name });
}
