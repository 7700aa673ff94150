// SoftmaxWithLoss: softmax along softmax_param.axis (default 1), then the negative log-likelihood of the labels.
// Top 0 is the scalar loss (shape []); the optional top 1 is the probabilities, shaped like the scores.
// loss = -sum over labels not ignored of w[label] * log(max(p[label], FLT_MIN)) / normalizer, with w the SegNet/ENet
// class_weighting under weight_by_label_freqs (1 otherwise); the normalizer counts the labels not ignored, unweighted,
// as both forks count them. It is never below 1, as in BVLC; SegNet divides by the bare count (NaN when a batch has
// every label ignored).
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import { checkLabelCount, classAxes, ignoreLabel, integerLabels, lossScale, lossTop, negativeLogLikelihood, normalizationMode, normalizer, refuseLabelGradient } from './loss-layer.js';
import { legacyShape } from './shape.js';
import type { LayerContext, LayerDef, OnnxContext } from './types.js';

const FLT_MIN = 1.1754943508222875e-38;

/** The class weights under weight_by_label_freqs, else undefined. */
function classWeights(ctx: LayerContext): number[] | undefined {
  const p = ctx.param('loss_param');
  return p.info.byName.has('weight_by_label_freqs') && p.bool('weight_by_label_freqs') ? p.list('class_weighting') : undefined;
}

/** SegNet and ENet weight each class by loss_param.class_weighting: one weight per channel of the scores. */
function checkClassWeighting(ctx: LayerContext): void {
  const p = ctx.param('loss_param');
  if (!p.info.byName.has('weight_by_label_freqs') || !p.bool('weight_by_label_freqs')) return;
  const classes = legacyShape(ctx.inputs[0], 'SoftmaxWithLoss with weight_by_label_freqs')[1];
  const weights = p.list('class_weighting').length;
  if (weights !== classes) {
    throw new CaffeToolError(`loss_param.class_weighting has ${weights} values but the scores '${ctx.bottoms[0]}' have ${classes} classes (axis 1): with weight_by_label_freqs give one weight per class`);
  }
}

export const softmaxWithLoss: LayerDef = {
  type: 'SoftmaxWithLoss',
  trainingOnly: true,
  param: 'softmax_param',
  bottoms: [2, 2],
  tops: [1, 2],
  loss: true,
  outputShapes(ctx) {
    const scores = ctx.inputs[0];
    const { axis } = classAxes(ctx, 'softmax_param');
    checkClassWeighting(ctx);
    const loss = lossTop(ctx);
    checkLabelCount(ctx, axis, 'softmax_param.axis');
    return ctx.tops.length === 2 ? [loss, [...scores]] : [loss];
  },
  toOnnx(ctx) {
    const g = ctx.g;
    const { outer, classes, inner } = classAxes(ctx, 'softmax_param');
    const x = g.node('Reshape', [ctx.x[0], g.int64([-1, classes, inner])], { name: `${ctx.name}_scores_3d` });
    const prob = g.node('Softmax', [x], { attrs: { axis: 1 }, name: `${ctx.name}_prob` });
    if (ctx.y[1]) g.node('Reshape', [prob, g.int64(ctx.dynamicBatch ? [0, ...ctx.inputs[0].slice(1)] : ctx.inputs[0])], { outputs: [ctx.y[1]], name: `${ctx.name}_prob_top` });
    const { index, valid } = integerLabels(ctx, ctx.x[1], [-1, 1, inner], ignoreLabel(ctx));
    const picked = g.node('GatherElements', [prob, index], { attrs: { axis: 1 }, name: `${ctx.name}_picked` });
    const logp = g.node('Log', [g.node('Max', [picked, g.float32([FLT_MIN], [])], { name: `${ctx.name}_clamp` })], { name: `${ctx.name}_logp` });
    const weight = termWeights(ctx, index, valid);
    const terms = weight ? g.node('Mul', [logp, weight], { name: `${ctx.name}_weighted` }) : logp;
    const norm = normalizer(ctx, normalizationMode(ctx, 'default'), outer, inner, valid);
    negativeLogLikelihood(ctx, terms, norm);
    if (ctx.train) {
      ctx.train.save('prob', prob);
      ctx.train.save('picked', picked);
      ctx.train.save('index', index);
      if (weight) ctx.train.save('weight', weight);
      ctx.train.save('normalizer', norm);
    }
  },
  gradient(ctx) {
    // Caffe: dx = (p - onehot(label)) * w[label] * loss_weight / normalizer, zero where the label is ignored; the
    // prob top's gradient is not used (Caffe's Backward reads only the loss top's diff).
    const g = ctx.g;
    refuseLabelGradient(ctx);
    if (!ctx.needDx[0]) return {};
    const scores = ctx.inputs[0];
    if (!ctx.dy[0]) return { dx: [zeros(ctx, scores)] };
    const minusOne = g.node('Sub', [ctx.saved('picked'), g.float32([1], [])], { name: `${ctx.name}_picked_minus_one` });
    const diff = g.node('ScatterElements', [ctx.saved('prob'), ctx.saved('index'), minusOne], { attrs: { axis: 1 }, name: `${ctx.name}_p_minus_onehot` });
    let scale = lossScale(ctx);
    if (classWeights(ctx) || ignoreLabel(ctx) !== undefined) scale = g.node('Mul', [ctx.saved('weight'), scale], { name: `${ctx.name}_row_scale` });
    const dx = g.node('Mul', [diff, scale], { name: `${ctx.name}_dx_3d` });
    return { dx: [g.node('Reshape', [dx, g.int64(scores)], { name: `${ctx.name}_dx` })] };
  },
};

/** Each position's weight: its class weight (weight_by_label_freqs), 0 where ignored; undefined when all are 1. */
function termWeights(ctx: OnnxContext, index: string, valid: string | undefined): string | undefined {
  const weights = classWeights(ctx);
  if (!weights) return valid;
  const w = ctx.g.node('Gather', [ctx.g.float32(weights), index], { attrs: { axis: 0 }, name: `${ctx.name}_class_weight` });
  return valid ? ctx.g.node('Mul', [w, valid], { name: `${ctx.name}_weight` }) : w;
}
