// Pooling: Caffe rounds the output size up (CEIL, the default round_mode) and then drops a last window
// that would start in the padding; global pooling takes the whole plane. A MAX pool may have a second top,
// the argmax mask SegNet's Upsample reads.
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import type { Params } from './params.js';
import type { AttrValue, OnnxGraph } from '../convert/onnx/graph.js';
import type { GradContext, LayerDef, OnnxContext, Shape } from './types.js';

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

/**
 * One axis: ceil (or floor) of (in + 2p - k)/s, plus 1, minus 1 if the last window starts in the padding. Caffe
 * makes that check on both axes when either is padded (`clip`: pad_h || pad_w), even on an axis whose pad is 0.
 */
export function pooledSize(input: number, k: number, s: number, pad: number, ceil: boolean, clip = pad > 0): number {
  // Caffe divides in float: static_cast<float>(in + 2p - k) / s.
  const q = Math.fround(Math.fround(input + 2 * pad - k) / s);
  let out = (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
  if (clip && (out - 1) * s >= input + pad) out--;
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
    const clip = g.pad[0] + g.pad[1] > 0;
    const out = g.global
      ? [input[0], input[1], 1, 1]
      : [input[0], input[1], ...[0, 1].map((a) => pooledSize(input[2 + a], g.kernel[a], g.stride[a], g.pad[a], g.ceil, clip))];
    return ctx.tops.map(() => [...out]);
  },
  toOnnx(ctx) {
    poolingToOnnx(ctx, poolGeometry(ctx.param('pooling_param'), ctx.inputs[0]));
  },
  gradient(ctx) {
    const g = poolGeometry(ctx.param('pooling_param'), ctx.inputs[0]);
    const input = ctx.inputs[0];
    // Caffe's backward reads the first top's gradient only; the mask top passes none.
    const dy = ctx.dy[0];
    if (!dy) return { dx: [zeros(ctx, input)] };
    return { dx: [poolingGrad(ctx, g, input, ctx.outputs[0], dy, g.method === 'MAX' ? ctx.saved('indices') : undefined)] };
  },
};

/**
 * The gradient of one Caffe pooling's input (shape `input`) from its output's gradient `dy` (shape `out`); MAX
 * needs the argmax indices its training forward saved. SPP passes its pyramid levels' gradients through it.
 */
export function poolingGrad(ctx: Pick<GradContext, 'g' | 'name' | 'cpu'>, g: PoolGeometry, input: Shape, out: Shape, dy: string, indices: string | undefined): string {
  if (g.method === 'MAX') {
    // Into the argmax of each window: ONNX Runtime's MaxPool scans the window in row-major order and keeps a value
    // only when strictly greater, as Caffe does, so ties go to the first maximum in both (the tests check it).
    const overlap = [0, 1].some((a) => out[2 + a] > 1 && g.kernel[a] > g.stride[a]);
    if (!overlap) {
      // ONNX Runtime checks output_shape against the size the forward's window attributes give.
      return maxUnpool(ctx.g, `${ctx.name}_dx`, dy, indices!, input, windowAttrs(g, input, out), ctx.cpu !== false);
    }
    // Overlapping windows can share an argmax: their gradients add up (Caffe's +=).
    return scatterFlat(ctx.g, `${ctx.name}_dx`, dy, indices!, input, 'add');
  }
  if (g.global) {
    const mean = ctx.g.node('Mul', [dy, ctx.g.float32([1 / (input[2] * input[3])], [])], { name: `${ctx.name}_dy_mean` });
    return ctx.g.node('Expand', [mean, ctx.g.int64(input)], { name: `${ctx.name}_dx` });
  }
  // AVE: each window spreads dy / its divisor evenly over the window (clipped to the image: padding takes its
  // share and drops it). The spreading is a ConvTranspose of every plane with a ones kernel.
  const sizes = poolSizes(g, input, out);
  const divided = overhangs(g, input, out)
    ? ctx.g.node('Mul', [dy, ctx.g.initializer(`${ctx.name}_inverse_divisor`, sizes.map((s) => 1 / s), [1, 1, out[2], out[3]])], { name: `${ctx.name}_dy_divided` })
    : ctx.g.node('Mul', [dy, ctx.g.float32([1 / sizes[0]], [])], { name: `${ctx.name}_dy_divided` });
  const planes = ctx.g.node('Reshape', [divided, ctx.g.int64([input[0] * input[1], 1, out[2], out[3]])], { name: `${ctx.name}_dy_planes` });
  // The windows reach s(out-1) + k - pad; rows past that get no gradient (output_padding, always < stride).
  const end = [0, 1].map((a) => g.stride[a] * (out[2 + a] - 1) + g.kernel[a] - g.pad[a] - input[2 + a]);
  const ones = ctx.g.float32(new Float32Array(g.kernel[0] * g.kernel[1]).fill(1), [1, 1, ...g.kernel]);
  const outputPadding: Record<string, AttrValue> = end.some((e) => e < 0) ? { output_padding: end.map((e) => Math.max(0, -e)) } : {};
  const trim = end.map((e) => Math.max(0, e));
  let spread: string;
  if (ctx.cpu !== false || trim.every((e, a) => e === g.pad[a])) {
    spread = ctx.g.node('ConvTranspose', [planes, ones], {
      name: `${ctx.name}_spread`, attrs: { kernel_shape: g.kernel, strides: g.stride, pads: [...g.pad, ...trim], ...outputPadding },
    });
  } else {
    // ONNX Runtime's CUDA provider runs a ConvTranspose with unequal pads on the CPU: spread unpadded, then cut.
    const full = ctx.g.node('ConvTranspose', [planes, ones], {
      name: `${ctx.name}_spread_full`, attrs: { kernel_shape: g.kernel, strides: g.stride, pads: [0, 0, 0, 0], ...outputPadding },
    });
    spread = ctx.g.node('Slice', [full, ctx.g.int64(g.pad), ctx.g.int64(g.pad.map((p, a) => p + input[2 + a])), ctx.g.int64([2, 3])], { name: `${ctx.name}_spread` });
  }
  return ctx.g.node('Reshape', [spread, ctx.g.int64(input)], { name: `${ctx.name}_dx` });
}

/**
 * MaxUnpool: `values` placed at their flat `indices` (over the whole tensor, as MaxPool gives them) in zeros of
 * `shape`, into `output` when given. ONNX Runtime's CUDA provider has no MaxUnpool, so a graph for it (`cpu`
 * false) scatters into zeros instead, which it has: MaxUnpool on the CPU would copy both tensors across each way.
 */
export function maxUnpool(g: OnnxGraph, name: string, values: string, indices: string, shape: Shape, attrs: Record<string, AttrValue>, cpu: boolean, output?: string): string {
  if (cpu) return g.node('MaxUnpool', [values, indices, g.int64(shape)], { name, attrs, ...(output ? { outputs: [output] } : {}) });
  return scatterFlat(g, name, values, indices, shape, 'none', output);
}

/** Zeros of `shape` with `values` scattered to their flat `indices`; `add`: repeated indices sum. */
function scatterFlat(g: OnnxGraph, name: string, values: string, indices: string, shape: Shape, reduction: 'add' | 'none', output?: string): string {
  const flat = g.int64([-1]);
  const empty = g.node('ConstantOfShape', [g.int64([shape.reduce((a, b) => a * b, 1)])], { name: `${name}_zeros` });
  const scattered = g.node('ScatterElements', [
    empty,
    g.node('Reshape', [indices, flat], { name: `${name}_indices_flat` }),
    g.node('Reshape', [values, flat], { name: `${name}_values_flat` }),
  ], { name: `${name}_flat`, attrs: { axis: 0, ...(reduction === 'add' ? { reduction } : {}) } });
  return g.node('Reshape', [scattered, g.int64(shape)], { name, ...(output ? { outputs: [output] } : {}) });
}

/**
 * One Caffe pooling as ONNX nodes: ctx.x[0] (shape ctx.inputs[0]) pooled with `g` into ctx.y (shape
 * ctx.outputs[0]; a second name takes MAX's mask). SPP pools its pyramid levels with it.
 */
export function poolingToOnnx(ctx: Pick<OnnxContext, 'g' | 'name' | 'x' | 'y' | 'inputs' | 'outputs' | 'train' | 'cpu'>, g: PoolGeometry): void {
  const input = ctx.inputs[0];
  const out = ctx.outputs[0];
  const [x] = ctx.x;
  if (ctx.train && g.method === 'STOCHASTIC') {
    throw new CaffeToolError('STOCHASTIC pooling cannot be trained: its training forward (sampling a value per window) and backward are not built', {
      hint: 'train with pool: MAX or AVE; a trained STOCHASTIC net still runs for inference',
    });
  }
  if (g.method === 'STOCHASTIC') {
    // At test Caffe weights each value by itself: sum(x^2) / sum(x) over the window (the divisors cancel), and 0
    // where sum(x) <= 0 (pooling_layer.cu StoPoolForwardTest; an all-zero window after a ReLU is common).
    const attrs = windowAttrs(g, input, out);
    const squares = ctx.g.node('AveragePool', [ctx.g.node('Mul', [x, x])], { attrs: { ...attrs, count_include_pad: 1 } });
    const sums = ctx.g.node('AveragePool', [x], { attrs: { ...attrs, count_include_pad: 1 } });
    const zero = ctx.g.float32([0], []);
    const positive = ctx.g.node('Greater', [sums, zero], { name: `${ctx.name}_positive` });
    ctx.g.node('Where', [positive, ctx.g.node('Div', [squares, sums]), zero], { outputs: [ctx.y[0]], name: ctx.name });
    return;
  }
  // Training keeps MAX's argmax for the backward (a global MAX as a MaxPool over the whole plane).
  const keepArgmax = g.method === 'MAX' && ctx.train !== undefined;
  if (g.global && ctx.y.length === 1 && !keepArgmax) {
    ctx.g.node(g.method === 'MAX' ? 'GlobalMaxPool' : 'GlobalAveragePool', [x], { outputs: ctx.y, name: ctx.name });
    return;
  }
  const attrs = windowAttrs(g, input, out);
  if (g.method === 'MAX') {
    if (ctx.y.length === 1 && !keepArgmax) {
      ctx.g.node('MaxPool', [x], { outputs: ctx.y, name: ctx.name, attrs });
      return;
    }
    // The mask top: Caffe stores the plane-local index h*W + w as a float; ONNX gives the flat index.
    const indices = ctx.g.unique(`${ctx.name}_indices`);
    ctx.g.node('MaxPool', [x], { outputs: [ctx.y[0], indices], attrs, name: ctx.name });
    ctx.train?.save('indices', indices);
    if (ctx.y.length === 1) return;
    const local = ctx.g.node('Mod', [indices, ctx.g.int64([input[2] * input[3]], [])]);
    ctx.g.node('Cast', [local], { outputs: [ctx.y[1]], attrs: { to: 1 }, name: `${ctx.name}_mask` });
    ctx.g.flatIndices.set(ctx.y[1], { indices, shape: input });
    return;
  }
  // AVE: Caffe divides by the window clipped to the padded input [-pad, H + pad), not to the overhang that
  // rounding up adds. Where no window reaches past H + pad that is ONNX's count_include_pad.
  if (!overhangs(g, input, out)) {
    ctx.g.node('AveragePool', [x], { attrs: { ...attrs, count_include_pad: 1 }, outputs: [ctx.y[0]], name: ctx.name });
    return;
  }
  // Elsewhere the k*k average of the padded window is rescaled position by position. A graph for ONNX Runtime's
  // CUDA provider (ctx.cpu false) gives AveragePool equal pads and adds the overhang's zeros itself: that provider hands
  // cuDNN the leading pads only, and cuDNN divides an overhanging window by what it covers. (Concat, because ONNX
  // Runtime folds a Pad back into the pooling's pads; the CPU's NCHWc rewrite wants the pooling's own pads.)
  const avg = ctx.cpu === false
    ? ctx.g.node('AveragePool', [zerosAfter(ctx, x, input, [0, 1].map((a) => attrs.pads[2 + a] - g.pad[a]))], {
      attrs: { kernel_shape: g.kernel, strides: g.stride, pads: [...g.pad, ...g.pad], count_include_pad: 1 }, name: `${ctx.name}_window_mean`,
    })
    : ctx.g.node('AveragePool', [x], { attrs: { ...attrs, count_include_pad: 1 }, name: `${ctx.name}_window_mean` });
  const factor = poolSizes(g, input, out).map((size) => (g.kernel[0] * g.kernel[1]) / size);
  ctx.g.node('Mul', [avg, ctx.g.initializer(`${ctx.name}_divisor`, factor, [1, 1, out[2], out[3]])], { outputs: [ctx.y[0]], name: ctx.name });
}

/** x [N, C, H, W] with extra[0] rows and extra[1] columns of zeros after its own (none where extra is 0 or less). */
function zerosAfter(ctx: Pick<OnnxContext, 'g' | 'name'>, x: string, input: Shape, extra: number[]): string {
  let out = x;
  const shape = [...input];
  for (const a of [0, 1]) {
    if (extra[a] <= 0) continue;
    const zeros = ctx.g.node('ConstantOfShape', [ctx.g.int64(shape.map((d, i) => (i === 2 + a ? extra[a] : d)))], { name: `${ctx.name}_overhang${a}` });
    out = ctx.g.node('Concat', [out, zeros], { attrs: { axis: 2 + a }, name: `${ctx.name}_overhang${a}_joined` });
    shape[2 + a] += extra[a];
  }
  return out;
}

/** AVE's divisor at each output position: the window clipped to the padded input [-pad, H + pad). */
function poolSizes(g: PoolGeometry, input: Shape, out: Shape): Float32Array {
  const [oh, ow] = [out[2], out[3]];
  const sizes = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const hs = i * g.stride[0] - g.pad[0];
      const ws = j * g.stride[1] - g.pad[1];
      const he = Math.min(hs + g.kernel[0], input[2] + g.pad[0]);
      const we = Math.min(ws + g.kernel[1], input[3] + g.pad[1]);
      sizes[i * ow + j] = (he - hs) * (we - ws);
    }
  }
  return sizes;
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
