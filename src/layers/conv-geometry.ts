// The kernel/stride/pad/dilation of a ConvolutionParameter, as Caffe's BaseConvolutionLayer reads them:
// one value for every spatial axis or one per axis, `_h`/`_w` overriding in 2-D.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';
import { canonicalAxis } from './shape.js';
import type { Shape } from './types.js';

export interface ConvGeometry {
  /** The channel axis (convolution_param.axis, default 1). */
  axis: number;
  kernel: number[];
  stride: number[];
  pad: number[];
  dilation: number[];
  group: number;
  numOutput: number;
  biasTerm: boolean;
}

export function convGeometry(p: Params, input: Shape): ConvGeometry {
  const axis = canonicalAxis(p.num('axis'), input.length, 'convolution_param.axis');
  const n = input.length - axis - 1;
  const perAxis = (name: string, h: string, w: string, fallback: number): number[] => {
    if (p.has(h) || p.has(w)) {
      if (n !== 2) throw new CaffeToolError(`${h}/${w} can only be used in 2-D convolution (this input has ${n} spatial axes)`);
      if (name === 'kernel_size' && !(p.has(h) && p.has(w))) throw new CaffeToolError('kernel_h and kernel_w must both be given');
      if (p.has(name)) throw new CaffeToolError(`give either ${name} or ${h}/${w}, not both`);
      return [p.has(h) ? p.num(h) : fallback, p.has(w) ? p.num(w) : fallback];
    }
    const v = p.list(name);
    if (v.length === 0) {
      if (name === 'kernel_size') throw new CaffeToolError('kernel_size (or kernel_h and kernel_w) is required');
      return Array(n).fill(fallback);
    }
    if (v.length !== 1 && v.length !== n) {
      throw new CaffeToolError(`${name} must have 1 or ${n} values (one per spatial axis), got ${v.length}`);
    }
    return v.length === 1 ? Array(n).fill(v[0]) : v;
  };
  const kernel = perAxis('kernel_size', 'kernel_h', 'kernel_w', 0);
  if (kernel.some((k) => k <= 0)) throw new CaffeToolError(`kernel size must be positive, got ${kernel.join(',')}`);
  const stride = perAxis('stride', 'stride_h', 'stride_w', 1);
  if (stride.some((s) => s <= 0)) throw new CaffeToolError(`stride must be positive, got ${stride.join(',')}`);
  const pad = perAxis('pad', 'pad_h', 'pad_w', 0);
  const dil = p.list('dilation');
  if (dil.length !== 0 && dil.length !== 1 && dil.length !== n) {
    throw new CaffeToolError(`dilation must have 1 or ${n} values, got ${dil.length}`);
  }
  const dilation = dil.length === 0 ? Array(n).fill(1) : dil.length === 1 ? Array(n).fill(dil[0]) : dil;
  const group = p.num('group');
  const numOutput = p.num('num_output');
  if (numOutput <= 0) throw new CaffeToolError('num_output must be given and positive');
  const channels = input[axis];
  if (group <= 0 || channels % group !== 0) throw new CaffeToolError(`the ${channels} input channels do not divide into group ${group}`);
  if (numOutput % group !== 0) throw new CaffeToolError(`num_output ${numOutput} does not divide into group ${group}`);
  return { axis, kernel, stride, pad, dilation, group, numOutput, biasTerm: p.bool('bias_term') };
}

/** Convolution output size on one axis: (in + 2p - (d(k-1)+1)) / s + 1, refusing a kernel larger than the padded input. */
export function convOutSize(input: number, g: ConvGeometry, i: number): number {
  const extent = g.dilation[i] * (g.kernel[i] - 1) + 1;
  const room = input + 2 * g.pad[i] - extent;
  if (room < 0) {
    throw new CaffeToolError(
      `the kernel (${g.kernel[i]}${g.dilation[i] > 1 ? `, dilation ${g.dilation[i]}, extent ${extent}` : ''}) is larger than the padded input (${input} + 2x${g.pad[i]}) on spatial axis ${i}`,
    );
  }
  return Math.floor(room / g.stride[i]) + 1;
}

/** Deconvolution output size on one axis: s(in - 1) + d(k-1) + 1 - 2p. */
export function deconvOutSize(input: number, g: ConvGeometry, i: number): number {
  const out = g.stride[i] * (input - 1) + g.dilation[i] * (g.kernel[i] - 1) + 1 - 2 * g.pad[i];
  if (out <= 0) throw new CaffeToolError(`the output would be empty on spatial axis ${i}: pad ${g.pad[i]} is too large for input ${input}`);
  return out;
}

/** The attributes of an ONNX Conv/ConvTranspose node for this geometry (symmetric pads, as Caffe pads). */
export function convAttrs(g: ConvGeometry): Record<string, number | number[]> {
  return { kernel_shape: g.kernel, strides: g.stride, pads: [...g.pad, ...g.pad], dilations: g.dilation, group: g.group };
}
