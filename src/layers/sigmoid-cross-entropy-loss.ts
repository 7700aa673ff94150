// SigmoidCrossEntropyLoss: the cross-entropy of sigmoid(scores) against targets of the same count; the loss top is
// a scalar (shape []). Caffe's stable form per element: -(x (t - [x >= 0]) - log(1 + exp(-|x|))). ignore_label and
// normalization came to BVLC Caffe in 2017; before, the loss was divided by the batch size, which is
// still the default when loss_param gives neither normalization nor normalize.
import { CaffeToolError } from '../errors.js';
import { ignoreLabel, integerLabels, lossScale, lossTop, negativeLogLikelihood, normalizationMode, normalizer, refuseLabelGradient } from './loss-layer.js';
import { count, formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const sigmoidCrossEntropyLoss: LayerDef = {
  type: 'SigmoidCrossEntropyLoss',
  trainingOnly: true,
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const loss = lossTop(ctx);
    const [scores, targets] = ctx.inputs;
    if (count(scores) !== count(targets)) {
      throw new CaffeToolError(
        `the scores '${ctx.bottoms[0]}' (${formatShape(scores)}) and the targets '${ctx.bottoms[1]}' (${formatShape(targets)}) must have the same count, got ${count(scores)} and ${count(targets)}`,
      );
    }
    return [loss];
  },
  toOnnx(ctx) {
    const g = ctx.g;
    const x = ctx.x[0];
    const shape = ctx.inputs[0];
    const t = shape.join(',') === ctx.inputs[1].join(',') ? ctx.x[1] : g.node('Reshape', [ctx.x[1], g.int64(shape)], { name: `${ctx.name}_target_shape` });
    const positive = g.node('Cast', [g.node('GreaterOrEqual', [x, g.float32([0], [])], { name: `${ctx.name}_ge0` })], { attrs: { to: 1 }, name: `${ctx.name}_positive` });
    const linear = g.node('Mul', [x, g.node('Sub', [t, positive], { name: `${ctx.name}_t_minus` })], { name: `${ctx.name}_linear` });
    const softplus = g.node('Softplus', [g.node('Neg', [g.node('Abs', [x], { name: `${ctx.name}_abs` })], { name: `${ctx.name}_neg_abs` })], { name: `${ctx.name}_log1p_exp` });
    let terms = g.node('Sub', [linear, softplus], { name: `${ctx.name}_terms` });
    const valid = integerLabels(ctx, t, shape, ignoreLabel(ctx)).valid;
    if (valid) terms = g.node('Mul', [terms, valid], { name: `${ctx.name}_kept` });
    const outer = shape[0];
    const norm = normalizer(ctx, normalizationMode(ctx, 'BATCH_SIZE'), outer, count(shape) / outer, valid);
    negativeLogLikelihood(ctx, terms, norm);
    if (ctx.train) {
      ctx.train.save('target', t);
      if (valid) ctx.train.save('valid', valid);
      ctx.train.save('normalizer', norm);
    }
  },
  gradient(ctx) {
    // Caffe: dx = (sigmoid(x) - t) * loss_weight / normalizer, 0 where the target is ignored. No gradient to targets.
    const g = ctx.g;
    refuseLabelGradient(ctx);
    if (!ctx.needDx[0]) return {};
    let diff = g.node('Sub', [g.node('Sigmoid', [ctx.x[0]], { name: `${ctx.name}_sigmoid` }), ctx.saved('target')], { name: `${ctx.name}_diff` });
    if (ignoreLabel(ctx) !== undefined) diff = g.node('Mul', [diff, ctx.saved('valid')], { name: `${ctx.name}_diff_kept` });
    return { dx: [g.node('Mul', [diff, lossScale(ctx)], { name: `${ctx.name}_dx` })] };
  },
};
