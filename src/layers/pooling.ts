// Pooling: Caffe rounds the output size up (CEIL, the default round_mode) and then drops a last window
// that would start in the padding; global pooling takes the whole plane. A MAX pool may have a second top,
// the argmax mask SegNet's Upsample reads.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';
import type { LayerDef, OnnxContext, Shape } from './types.js';

export interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  pad: [number, number];
  global: boolean;
  method: string;
  ceil: boolean;
}

export function poolGeometry(p: Params, input: Shape): PoolGeometry {
  if (input.length !== 4) throw new CaffeToolError(`Pooling needs a 4-D input (N, C, H, W), got ${input.length}-D`);
  const global = p.bool('global_pooling');
  const two = (one: string, h: string, w: string, fallback: number): [number, number] => {
    if (p.has(h) || p.has(w)) return [p.has(h) ? p.num(h) : fallback, p.has(w) ? p.num(w) : fallback];
    return p.has(one) ? [p.num(one), p.num(one)] : [fallback, fallback];
  };
  let kernel: [number, number];
  if (global) {
    if (p.has('kernel_size') || p.has('kernel_h') || p.has('kernel_w')) {
      throw new CaffeToolError('with global_pooling: true the kernel size cannot be given');
    }
    kernel = [input[2], input[3]];
  } else {
    if (!p.has('kernel_size') && !(p.has('kernel_h') && p.has('kernel_w'))) {
      throw new CaffeToolError('pooling needs kernel_size, or kernel_h and kernel_w (or global_pooling: true)');
    }
    kernel = two('kernel_size', 'kernel_h', 'kernel_w', 0);
  }
  if (kernel[0] <= 0 || kernel[1] <= 0) throw new CaffeToolError(`kernel size must be positive, got ${kernel.join('x')}`);
  const pad = two('pad', 'pad_h', 'pad_w', 0);
  const stride = two('stride', 'stride_h', 'stride_w', 1);
  if (global && (pad[0] || pad[1] || stride[0] !== 1 || stride[1] !== 1)) {
    throw new CaffeToolError('with global_pooling: true, pad must be 0 and stride 1');
  }
  const method = p.str('pool');
  if ((pad[0] || pad[1]) && method !== 'MAX' && method !== 'AVE') throw new CaffeToolError(`padding is only implemented for MAX and AVE pooling, not ${method}`);
  if (pad[0] >= kernel[0] || pad[1] >= kernel[1]) throw new CaffeToolError(`pad ${pad.join('x')} must be smaller than the kernel ${kernel.join('x')}`);
  return { kernel, stride, pad, global, method, ceil: p.str('round_mode') !== 'FLOOR' };
}

/** One axis: ceil (or floor) of (in + 2p - k)/s, plus 1, minus 1 if the last window starts in the padding. */
export function pooledSize(input: number, k: number, s: number, pad: number, ceil: boolean): number {
  // Caffe divides in float: static_cast<float>(in + 2p - k) / s.
  const q = Math.fround(Math.fround(input + 2 * pad - k) / s);
  let out = (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
  if (pad && (out - 1) * s >= input + pad) out--;
  if (out <= 0) throw new CaffeToolError(`the kernel ${k} is larger than the padded input (${input} + 2x${pad}): the output would be empty`);
  return out;
}

export const pooling: LayerDef = {
  type: 'Pooling',
  param: 'pooling_param',
  bottoms: [1, 1],
  tops: [1, 2],
  outputShapes(ctx) {
    const input = ctx.inputs[0];
    const g = poolGeometry(ctx.param('pooling_param'), input);
    if (ctx.tops.length === 2 && g.method !== 'MAX') throw new CaffeToolError('only MAX pooling has a second top (the argmax mask)');
    const out = g.global
      ? [input[0], input[1], 1, 1]
      : [input[0], input[1], pooledSize(input[2], g.kernel[0], g.stride[0], g.pad[0], g.ceil), pooledSize(input[3], g.kernel[1], g.stride[1], g.pad[1], g.ceil)];
    return ctx.tops.map(() => [...out]);
  },
  toOnnx(ctx) {
    poolingToOnnx(ctx, poolGeometry(ctx.param('pooling_param'), ctx.inputs[0]));
  },
};

/**
 * One Caffe pooling as ONNX nodes: ctx.x[0] (shape ctx.inputs[0]) pooled with `g` into ctx.y (shape
 * ctx.outputs[0]; a second name takes MAX's mask). SPP pools its pyramid levels with it.
 */
export function poolingToOnnx(ctx: Pick<OnnxContext, 'g' | 'name' | 'x' | 'y' | 'inputs' | 'outputs'>, g: PoolGeometry): void {
  const input = ctx.inputs[0];
  const out = ctx.outputs[0];
  const [x] = ctx.x;
  if (g.method === 'STOCHASTIC') {
    // At test Caffe weights each value by itself: sum(x^2) / sum(x) over the window (the divisors cancel).
    const attrs = windowAttrs(g, input, out);
    const squares = ctx.g.node('AveragePool', [ctx.g.node('Mul', [x, x])], { attrs: { ...attrs, count_include_pad: 1 } });
    const sums = ctx.g.node('AveragePool', [x], { attrs: { ...attrs, count_include_pad: 1 } });
    ctx.g.node('Div', [squares, sums], { outputs: [ctx.y[0]], name: ctx.name });
    return;
  }
  if (g.global && ctx.y.length === 1) {
    ctx.g.node(g.method === 'MAX' ? 'GlobalMaxPool' : 'GlobalAveragePool', [x], { outputs: ctx.y, name: ctx.name });
    return;
  }
  const attrs = windowAttrs(g, input, out);
  if (g.method === 'MAX') {
    if (ctx.y.length === 1) {
      ctx.g.node('MaxPool', [x], { outputs: ctx.y, name: ctx.name, attrs });
      return;
    }
    // The mask top: Caffe stores the plane-local index h*W + w as a float; ONNX gives the flat index.
    const indices = ctx.g.unique(`${ctx.name}_indices`);
    ctx.g.node('MaxPool', [x], { outputs: [ctx.y[0], indices], attrs, name: ctx.name });
    const local = ctx.g.node('Mod', [indices, ctx.g.int64([input[2] * input[3]], [])]);
    ctx.g.node('Cast', [local], { outputs: [ctx.y[1]], attrs: { to: 1 }, name: `${ctx.name}_mask` });
    return;
  }
  // AVE: Caffe divides by the window clipped to the padded input [-pad, H + pad), not to the overhang that
  // rounding up adds. Where no window reaches past H + pad that is ONNX's count_include_pad; elsewhere the
  // k*k average is rescaled position by position.
  const avg = ctx.g.node('AveragePool', [x], { attrs: { ...attrs, count_include_pad: 1 }, ...(overhangs(g, input, out) ? {} : { outputs: [ctx.y[0]], name: ctx.name }) });
  if (!overhangs(g, input, out)) return;
  const [oh, ow] = [out[2], out[3]];
  const factor = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const hs = i * g.stride[0] - g.pad[0];
      const ws = j * g.stride[1] - g.pad[1];
      const he = Math.min(hs + g.kernel[0], input[2] + g.pad[0]);
      const we = Math.min(ws + g.kernel[1], input[3] + g.pad[1]);
      factor[i * ow + j] = (g.kernel[0] * g.kernel[1]) / ((he - hs) * (we - ws));
    }
  }
  ctx.g.node('Mul', [avg, ctx.g.initializer(`${ctx.name}_divisor`, factor, [1, 1, oh, ow])], { outputs: [ctx.y[0]], name: ctx.name });
}

/** ONNX pooling attributes that give Caffe's output size: explicit end pads, no ceil mode. */
function windowAttrs(g: PoolGeometry, input: Shape, out: Shape): Record<string, number[]> {
  const end = [0, 1].map((a) => Math.max(0, (out[2 + a] - 1) * g.stride[a] + g.kernel[a] - input[2 + a] - g.pad[a]));
  return { kernel_shape: g.kernel, strides: g.stride, pads: [g.pad[0], g.pad[1], end[0], end[1]] };
}

/** Whether the last window on some axis reaches past the padded input (the round-up overhang). */
function overhangs(g: PoolGeometry, input: Shape, out: Shape): boolean {
  return [0, 1].some((a) => (out[2 + a] - 1) * g.stride[a] - g.pad[a] + g.kernel[a] > input[2 + a] + g.pad[a]);
}
