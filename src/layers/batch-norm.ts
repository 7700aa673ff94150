// BatchNorm: normalizes each channel (axis 1) with batch or stored statistics; same shape out. BVLC keeps
// 3 blobs: the running mean and variance sums [C] and their scale factor [1]. NVCaffe adds a learned scale
// and bias [C] (5 blobs) when scale_bias is set or a scale/bias filler is given.
import { float } from '../convert/onnx/graph.js';
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import { allButChannels, reduceToSpan } from './broadcast-grad.js';
import { count } from './shape.js';
import type { BlobSpec, GradContext, Gradients, LayerContext, LayerDef, OnnxContext, Shape, TrainHooks } from './types.js';

function channels(ctx: LayerContext): number {
  const input = ctx.inputs[0];
  // Caffe reads the channel count from axis 1 (its Reshape checks shape(1) even for a 1-D input).
  if (input.length < 2) throw new CaffeToolError(`BatchNorm normalizes over axis 1 (channels), so its input needs at least 2 axes, got ${input.length}`);
  return input[1];
}

/** BVLC refuses learning rates on the statistics; a layer with exactly 3 param specs has them zeroed by Caffe's upgrade. */
function checkStatisticsNotLearned(ctx: LayerContext): void {
  const specs = (ctx.layer.param as Message[] | undefined) ?? [];
  if (specs.length === 3) return;
  specs.slice(0, 3).forEach((spec, i) => {
    const lr = Number(spec.lr_mult ?? 1);
    if (lr !== 0) {
      throw new CaffeToolError(`param ${i} has lr_mult ${lr}: BatchNorm's blobs are statistics, not learned parameters, and Caffe refuses a nonzero lr_mult ("Cannot configure batch normalization statistics as layer parameters")`, {
        hint: 'write lr_mult: 0 in each param spec (or give exactly three specs, which Caffe\'s upgrade zeroes)',
      });
    }
  });
}

function nvcaffeScaleBias(ctx: LayerContext): boolean {
  const p = ctx.param('batch_norm_param');
  return p.bool('scale_bias') || p.has('scale_filler') || p.has('bias_filler');
}

export const batchNorm: LayerDef = {
  type: 'BatchNorm',
  param: 'batch_norm_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    channels(ctx);
    // NVCaffe sets the statistics' lr_mult to 0 itself instead of checking.
    if (ctx.dialect !== 'nvcaffe') checkStatisticsNotLearned(ctx);
    return [[...ctx.inputs[0]]];
  },
  blobs(ctx) {
    const c = channels(ctx);
    const stats: BlobSpec[] = [{ role: 'mean', shape: [c] }, { role: 'variance', shape: [c] }, { role: 'scale_factor', shape: [1] }];
    if (ctx.dialect === 'nvcaffe' && nvcaffeScaleBias(ctx)) stats.push({ role: 'scale', shape: [c] }, { role: 'bias', shape: [c] });
    return stats;
  },
  toOnnx(ctx) {
    if (ctx.train) {
      trainingForward(ctx as OnnxContext & { train: TrainHooks });
      return;
    }
    const c = channels(ctx);
    const { nvcaffe, eps, stored } = mode(ctx);
    const [scale, bias] = nvcaffe && ctx.weights.length === 5 ? [ctx.weights[3], ctx.weights[4]] : [undefined, undefined];
    if (stored) {
      // BVLC stores sums: the statistics are blob * (1 / s), 0 when s is 0, in float. NVCaffe stores them as they are
      // and never reads blob 2.
      const s = ctx.weights[2][0];
      const f = nvcaffe ? 1 : s === 0 ? 0 : Math.fround(1 / s);
      const stat = (b: Float32Array) => (f === 1 ? b : b.map((v) => Math.fround(f * v)));
      const inputs = [
        ctx.x[0],
        ctx.g.initializer(`${ctx.name}_scale`, scale ?? new Float32Array(c).fill(1), [c]),
        ctx.g.initializer(`${ctx.name}_bias`, bias ?? new Float32Array(c), [c]),
        ctx.g.initializer(`${ctx.name}_mean`, stat(ctx.weights[0]), [c]),
        ctx.g.initializer(`${ctx.name}_var`, stat(ctx.weights[1]), [c]),
      ];
      ctx.g.node('BatchNormalization', inputs, { outputs: ctx.y, name: ctx.name, attrs: { epsilon: float(eps) } });
      return;
    }
    // Batch statistics (training, or use_global_stats: false): mean and biased variance over every axis but 1.
    const normalized = normalizeWithBatchStatistics(ctx, ctx.x[0], eps, scale ? undefined : ctx.y[0]);
    if (!scale || !bias) return;
    const shape = [c, ...Array(ctx.inputs[0].length - 2).fill(1)];
    const scaled = ctx.g.node('Mul', [normalized, ctx.g.initializer(`${ctx.name}_scale`, scale, shape)], { name: `${ctx.name}_scale` });
    ctx.g.node('Add', [scaled, ctx.g.initializer(`${ctx.name}_bias`, bias, shape)], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe's backward: with the stored statistics a fixed affine map, dx = dy / sqrt(var + eps); with the batch's,
    // for x^ = (x - E x) / sqrt(var + eps): dx = (dy - E dy - x^ E(dy x^)) / sqrt(var + eps), the expectations over
    // every axis but the channels.
    const { stored } = mode(ctx);
    const std = ctx.saved('std');
    if (ctx.learned.length === 5) return nvcaffeAffineGradient(ctx, std);
    const dy = ctx.dy[0]!;
    if (stored) return { dx: [ctx.g.node('Div', [dy, std], { name: `${ctx.name}_dx` })] };
    return { dx: [batchStatisticsGrad(ctx, dy, ctx.saved('normalized'), std, allButChannels(ctx.inputs[0].length), 'dx')] };
  },
};

/** eps, and whether the layer normalizes with the stored statistics (else the batch's). */
function mode(ctx: LayerContext): { nvcaffe: boolean; eps: number; stored: boolean } {
  const p = ctx.param('batch_norm_param');
  const nvcaffe = ctx.dialect === 'nvcaffe';
  // NVCaffe raises eps to cuDNN's minimum (eps_ = max(eps, 1e-5f)) and picks the statistics by phase alone;
  // BVLC uses the stored ones when use_global_stats says so, by default at TEST.
  const eps = nvcaffe ? Math.max(Math.fround(p.num('eps')), Math.fround(1e-5)) : Math.fround(p.num('eps'));
  const stored = nvcaffe ? ctx.phase === 'TEST' : p.has('use_global_stats') ? p.bool('use_global_stats') : ctx.phase === 'TEST';
  return { nvcaffe, eps, stored };
}

/** NVCaffe's 5-blob layer with its stored statistics (TEST): y = scale x^ + bias, x^ = (x - mean) / std. */
function nvcaffeAffineGradient(ctx: GradContext, std: string): Gradients {
  const c = channels(ctx);
  const dy = ctx.dy[0]!;
  const view = [c, ...Array<number>(ctx.inputs[0].length - 2).fill(1)];
  const out: Gradients = { dx: [], dw: [] };
  if (ctx.needDx[0]) out.dx![0] = ctx.g.node('Div', [ctx.g.node('Mul', [dy, ctx.weight(3, view)], { name: `${ctx.name}_dy_scale` }), std], { name: `${ctx.name}_dx` });
  if (ctx.needDw[3]) out.dw![3] = reduceToSpan(ctx, ctx.g.node('Mul', [dy, ctx.saved('normalized')], { name: `${ctx.name}_dy_x` }), ctx.inputs[0], 1, 1, 'dscale');
  if (ctx.needDw[4]) out.dw![4] = reduceToSpan(ctx, dy, ctx.inputs[0], 1, 1, 'dbias');
  return out;
}

function nvcaffeRefusal(): CaffeToolError {
  return new CaffeToolError("NVCaffe's BatchNorm cannot be trained here: its running statistics start with plain copies for the first iterations, counted by the layer outside its blobs, so a step cannot be reproduced from the blobs alone", {
    hint: 'train the net as BVLC Caffe (--dialect caffe, 3-blob BatchNorm followed by a Scale layer), or use it for inference only',
  });
}

/**
 * The training graph's forward, reading the blobs through ctx.weight: the stored statistics (BVLC: blob * 1/s,
 * 0 when s is 0), or the batch's (mean and biased variance over every axis but the channels) with Caffe's running
 * update: s <- maf s + 1, mean <- maf mean + E x, var <- maf var + m / (m - 1) var_batch, m = count / C.
 */
function trainingForward(ctx: OnnxContext & { train: TrainHooks }): void {
  const c = channels(ctx);
  const input = ctx.inputs[0];
  const { nvcaffe, eps, stored } = mode(ctx);
  if (nvcaffe && !stored) throw nvcaffeRefusal();
  const view = [c, ...Array<number>(input.length - 2).fill(1)];
  const g = ctx.g;
  const op = (type: string, inputs: string[], what: string, output?: string) => g.node(type, inputs, output ? { outputs: [output], name: ctx.name } : { name: `${ctx.name}_${what}` });
  const last = ctx.learned.length === 5 ? undefined : ctx.y[0];
  let normalized: string;
  if (stored) {
    let mean = ctx.weight(0, view);
    let variance = ctx.weight(1, view);
    if (!nvcaffe) {
      const s = ctx.weight(2);
      const factor = op('Where', [op('Equal', [s, g.float32([0], [])], 'no_count'), g.float32([0], []), op('Reciprocal', [s], 'inverse_count')], 'factor');
      mean = op('Mul', [mean, factor], 'stored_mean');
      variance = op('Mul', [variance, factor], 'stored_variance');
    }
    const std = op('Sqrt', [op('Add', [variance, g.float32([eps], [])], 'eps')], 'std');
    normalized = op('Div', [op('Sub', [ctx.x[0], mean], 'centre'), std], 'normalize', last);
    ctx.train.save('std', std);
    ctx.train.save('normalized', normalized);
  } else {
    const p = ctx.param('batch_norm_param');
    const axes = allButChannels(input.length);
    const mean = reduceMean(ctx, ctx.x[0], axes, 'mean');
    const centred = op('Sub', [ctx.x[0], mean], 'centre');
    const variance = reduceMeanSquare(ctx, centred, input, axes, 'variance');
    const std = op('Sqrt', [op('Add', [variance, g.float32([eps], [])], 'eps')], 'std');
    normalized = op('Div', [centred, std], 'normalize', last);
    ctx.train.save('std', std);
    ctx.train.save('normalized', normalized);
    const maf = g.float32([Math.fround(p.num('moving_average_fraction'))], []);
    const m = count(input) / c;
    const correction = Math.fround(m > 1 ? m / (m - 1) : 1);
    const perChannel = (v: string, what: string) => op('Reshape', [v, g.int64([c])], what);
    ctx.train.update(2, op('Add', [op('Mul', [ctx.weight(2), maf], 'count_decay'), g.float32([1], [])], 'count_update'));
    ctx.train.update(0, op('Add', [op('Mul', [ctx.weight(0), maf], 'mean_decay'), perChannel(mean, 'batch_mean')], 'mean_update'));
    const unbiased = op('Mul', [perChannel(variance, 'batch_variance'), g.float32([correction], [])], 'unbiased_variance');
    ctx.train.update(1, op('Add', [op('Mul', [ctx.weight(1), maf], 'variance_decay'), unbiased], 'variance_update'));
  }
  if (ctx.learned.length === 5) {
    // NVCaffe's own scale and bias (only with its stored statistics: its batch statistics are refused above).
    const scaled = op('Mul', [normalized, ctx.weight(3, view)], 'scale');
    op('Add', [scaled, ctx.weight(4, view)], 'bias', ctx.y[0]);
  }
}

/**
 * (x - E x) / sqrt(E (x - E x)^2 + eps), the expectations over every axis but the channels (1): the batch
 * statistics of BVLC's, NVCaffe's and PSPNet's batch normalization. Returns the result (named `output` if given).
 */
export function normalizeWithBatchStatistics(ctx: OnnxContext, x: string, eps: number, output?: string): string {
  const axes = allButChannels(ctx.inputs[0].length);
  const centred = ctx.g.node('Sub', [x, reduceMean(ctx, x, axes, 'mean')], { name: `${ctx.name}_centre` });
  const variance = reduceMeanSquare(ctx, centred, ctx.inputs[0], axes, 'variance');
  const std = ctx.g.node('Sqrt', [ctx.g.node('Add', [variance, ctx.g.float32([eps], [])], { name: `${ctx.name}_eps` })], { name: `${ctx.name}_std` });
  return ctx.g.node('Div', [centred, std], output ? { outputs: [output], name: ctx.name } : { name: `${ctx.name}_normalize` });
}

/**
 * The gradient through batch statistics: for x^ = (x - E x) / std and g the gradient of x^,
 * dx = (g - E g - x^ E(g x^)) / std, the expectations over `axes` (BatchNorm's and SegNet BN's backward).
 */
export function batchStatisticsGrad(ctx: OnnxContext, g: string, normalized: string, std: string, axes: number[], what: string): string {
  const meanG = reduceMean(ctx, g, axes, 'mean_g');
  const meanGX = reduceMean(ctx, ctx.g.node('Mul', [g, normalized], { name: `${ctx.name}_g_x` }), axes, 'mean_g_x');
  const centred = ctx.g.node('Sub', [ctx.g.node('Sub', [g, meanG], { name: `${ctx.name}_g_centred` }), ctx.g.node('Mul', [normalized, meanGX], { name: `${ctx.name}_x_mean_g_x` })], { name: `${ctx.name}_dx_numerator` });
  return ctx.g.node('Div', [centred, std], { name: `${ctx.name}_${what}` });
}

/**
 * The mean of x squared over `axes` of `shape`, kept: ReduceSumSquare then a division, one read of x instead of
 * writing x * x out and reading it back (a whole pass over a 360x480 map per BatchNorm).
 */
export function reduceMeanSquare(ctx: OnnxContext, x: string, shape: Shape, axes: number[], what: string): string {
  const opts = { name: `${ctx.name}_${what}_sum` };
  const sum = ctx.g.opset >= 18
    ? ctx.g.node('ReduceSumSquare', [x, ctx.g.int64(axes)], { ...opts, attrs: { keepdims: 1 } })
    : ctx.g.node('ReduceSumSquare', [x], { ...opts, attrs: { axes, keepdims: 1 } });
  return ctx.g.node('Div', [sum, ctx.g.float32([axes.reduce((n, a) => n * shape[a], 1)], [])], { name: `${ctx.name}_${what}` });
}

/** ReduceMean keeping the reduced axes (the axes are an input from opset 18, an attribute before). */
export function reduceMean(ctx: OnnxContext, x: string, axes: number[], what: string, output?: string): string {
  const opts = output ? { outputs: [output], name: `${ctx.name}_${what}` } : { name: `${ctx.name}_${what}` };
  if (ctx.g.opset >= 18) return ctx.g.node('ReduceMean', [x, ctx.g.int64(axes)], { ...opts, attrs: { keepdims: 1 } });
  return ctx.g.node('ReduceMean', [x], { ...opts, attrs: { axes, keepdims: 1 } });
}
