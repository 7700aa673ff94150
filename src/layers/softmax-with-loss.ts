// SoftmaxWithLoss: softmax along softmax_param.axis (default 1), then the negative log-likelihood of the labels.
// Top 0 is the scalar loss (shape []); the optional top 1 is the probabilities, shaped like the scores.
import { CaffeToolError } from '../errors.js';
import { checkLabelCount, lossTop } from './loss-layer.js';
import { canonicalAxis, legacyShape } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

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
    const axis = canonicalAxis(ctx.param('softmax_param').num('axis'), scores.length, 'softmax_param.axis');
    checkClassWeighting(ctx);
    const loss = lossTop(ctx);
    checkLabelCount(ctx, axis, 'softmax_param.axis');
    return ctx.tops.length === 2 ? [loss, [...scores]] : [loss];
  },
};
