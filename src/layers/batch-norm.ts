// BatchNorm: normalizes each channel (axis 1) with batch or stored statistics; same shape out. BVLC keeps
// 3 blobs: the running mean and variance sums [C] and their scale factor [1]. NVCaffe adds a learned scale
// and bias [C] (5 blobs) when scale_bias is set or a scale/bias filler is given.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { BlobSpec, LayerContext, LayerDef } from './types.js';

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
};
