// BatchNorm: normalizes each channel (axis 1) with batch or stored statistics; same shape out. BVLC keeps
// 3 blobs: the running mean and variance sums [C] and their scale factor [1]. NVCaffe adds a learned scale
// and bias [C] (5 blobs) when scale_bias is set or a scale/bias filler is given.
import { float } from '../convert/onnx/graph.js';
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { BlobSpec, LayerContext, LayerDef, OnnxContext } from './types.js';

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
    const c = channels(ctx);
    const p = ctx.param('batch_norm_param');
    const nvcaffe = ctx.dialect === 'nvcaffe';
    // NVCaffe raises eps to cuDNN's minimum (eps_ = max(eps, 1e-5f)) and picks the statistics by phase alone;
    // BVLC uses the stored ones when use_global_stats says so, by default at TEST.
    const eps = nvcaffe ? Math.max(Math.fround(p.num('eps')), Math.fround(1e-5)) : Math.fround(p.num('eps'));
    const stored = nvcaffe ? ctx.phase === 'TEST' : p.has('use_global_stats') ? p.bool('use_global_stats') : ctx.phase === 'TEST';
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
};

/**
 * (x - E x) / sqrt(E (x - E x)^2 + eps), the expectations over every axis but the channels (1): the batch
 * statistics of BVLC's, NVCaffe's and PSPNet's batch normalization. Returns the result (named `output` if given).
 */
export function normalizeWithBatchStatistics(ctx: OnnxContext, x: string, eps: number, output?: string): string {
  const rank = ctx.inputs[0].length;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const centred = ctx.g.node('Sub', [x, reduceMean(ctx, x, axes, 'mean')], { name: `${ctx.name}_centre` });
  const variance = reduceMean(ctx, ctx.g.node('Mul', [centred, centred], { name: `${ctx.name}_square` }), axes, 'variance');
  const std = ctx.g.node('Sqrt', [ctx.g.node('Add', [variance, ctx.g.float32([eps], [])], { name: `${ctx.name}_eps` })], { name: `${ctx.name}_std` });
  return ctx.g.node('Div', [centred, std], output ? { outputs: [output], name: ctx.name } : { name: `${ctx.name}_normalize` });
}

/** ReduceMean keeping the reduced axes (the axes are an input from opset 18, an attribute before). */
export function reduceMean(ctx: OnnxContext, x: string, axes: number[], what: string, output?: string): string {
  const opts = output ? { outputs: [output], name: `${ctx.name}_${what}` } : { name: `${ctx.name}_${what}` };
  if (ctx.g.opset >= 18) return ctx.g.node('ReduceMean', [x, ctx.g.int64(axes)], { ...opts, attrs: { keepdims: 1 } });
  return ctx.g.node('ReduceMean', [x], { ...opts, attrs: { axes, keepdims: 1 } });
}
