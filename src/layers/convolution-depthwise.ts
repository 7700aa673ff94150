// ConvolutionDepthwise (farmingyard/caffe-mobilenet, used by many MobileNet ports): one k x k filter per
// input channel, so the output keeps the input's C; weights [C, 1, kh, kw], bias [C]. It reads
// convolution_param but ignores num_output and group (Caffe does not check them), and is 2-D only.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';
import { biasGrad, convDataGrad, convWeightGrad } from './conv-grad.js';
import { count, legacyShape } from './shape.js';
import type { Gradients, LayerContext, LayerDef } from './types.js';

interface DwGeometry {
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  dilation: [number, number];
}

/** `_h`/`_w` count only when both are given; else the repeated field: one value for both axes, or (h, w). */
function pair(p: Params, list: string, hw: [string, string] | undefined, fallback: number): [number, number] {
  if (hw && p.has(hw[0]) && p.has(hw[1])) return [p.num(hw[0]), p.num(hw[1])];
  const v = p.list(list);
  if (v.length === 0) {
    if (list === 'kernel_size') throw new CaffeToolError('kernel_size (or both kernel_h and kernel_w) is required');
    return [fallback, fallback];
  }
  return v.length === 1 ? [v[0], v[0]] : [v[0], v[1]];
}

function geometry(ctx: LayerContext): DwGeometry {
  const p = ctx.param('convolution_param');
  const g: DwGeometry = {
    kernel: pair(p, 'kernel_size', ['kernel_h', 'kernel_w'], 0),
    stride: pair(p, 'stride', ['stride_h', 'stride_w'], 1),
    pad: pair(p, 'pad', ['pad_h', 'pad_w'], 0),
    dilation: pair(p, 'dilation', undefined, 1),
  };
  if (g.kernel.some((k) => k <= 0)) throw new CaffeToolError(`kernel size must be positive, got ${g.kernel.join('x')}`);
  if (g.stride.some((s) => s <= 0)) throw new CaffeToolError(`stride must be positive, got ${g.stride.join('x')}`);
  return g;
}

function outSize(input: number, g: DwGeometry, i: 0 | 1): number {
  const extent = g.dilation[i] * (g.kernel[i] - 1) + 1;
  const room = input + 2 * g.pad[i] - extent;
  // Caffe computes this in unsigned arithmetic: a negative room wraps around to a nonsense size.
  if (room < 0) {
    throw new CaffeToolError(`the kernel (extent ${extent}) is larger than the padded input (${input} + 2x${g.pad[i]}) on the ${i === 0 ? 'height' : 'width'} axis`);
  }
  return Math.floor(room / g.stride[i]) + 1;
}

export const convolutionDepthwise: LayerDef = {
  type: 'ConvolutionDepthwise',
  param: 'convolution_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const [n, c, h, w] = legacyShape(ctx.inputs[0], 'ConvolutionDepthwise');
    const g = geometry(ctx);
    return [[n, c, outSize(h, g, 0), outSize(w, g, 1)]];
  },
  blobs(ctx) {
    const c = legacyShape(ctx.inputs[0], 'ConvolutionDepthwise')[1];
    const weight = { role: 'weight', shape: [c, 1, ...geometry(ctx).kernel] };
    return ctx.param('convolution_param').bool('bias_term') ? [weight, { role: 'bias', shape: [c] }] : [weight];
  },
  macs(ctx, outputs) {
    const [kh, kw] = geometry(ctx).kernel;
    return count(outputs[0]) * kh * kw;
  },
  toOnnx(ctx) {
    const input = ctx.inputs[0];
    if (input.length !== 4) throw new CaffeToolError(`ConvolutionDepthwise is 2-D: its input must be 4-D (N, C, H, W), got ${input.length}-D`);
    const g = geometry(ctx);
    // One filter per channel: weights [C, 1, kh, kw] are an ONNX Conv with group = C as they are.
    const w = ctx.weight(0);
    const b = ctx.learned.length > 1 ? [ctx.weight(1)] : [];
    ctx.g.node('Conv', [ctx.x[0], w, ...b], {
      outputs: ctx.y,
      name: ctx.name,
      attrs: { kernel_shape: g.kernel, strides: g.stride, pads: [...g.pad, ...g.pad], dilations: g.dilation, group: input[1] },
    });
  },
  gradient(ctx) {
    // A Convolution with group = C.
    const [input, output] = [ctx.inputs[0], ctx.outputs[0]];
    const win = { ...geometry(ctx), group: input[1] };
    const dy = ctx.dy[0]!;
    const out: Gradients = { dx: [], dw: [] };
    if (ctx.needDx[0]) out.dx![0] = convDataGrad(ctx.g, `${ctx.name}_dx`, dy, ctx.weight(0), win, input, output, { cpu: ctx.cpu !== false });
    if (ctx.needDw[0]) out.dw![0] = convWeightGrad(ctx.g, `${ctx.name}_dW`, ctx.x[0], dy, win, input, output);
    if (ctx.needDw[1]) out.dw![1] = biasGrad(ctx.g, `${ctx.name}_db`, dy, 4);
    return out;
  },
};
