// InfogainLoss: softmax along infogain_loss_param.axis, then the log-probabilities weighted by row `label` of the
// infogain matrix H (C x C, from infogain_loss_param.source or a third bottom). Top 0 is the scalar loss (shape []);
// the optional top 1 is the probabilities, shaped like the scores.
import { CaffeToolError } from '../errors.js';
import { checkLabelCount, lossTop } from './loss-layer.js';
import { canonicalAxis, count, formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const infogainLoss: LayerDef = {
  type: 'InfogainLoss',
  trainingOnly: true,
  param: 'infogain_loss_param',
  bottoms: [2, 3],
  tops: [1, 2],
  loss: true,
  outputShapes(ctx) {
    const p = ctx.param('infogain_loss_param');
    const scores = ctx.inputs[0];
    const axis = canonicalAxis(p.num('axis'), scores.length, 'infogain_loss_param.axis');
    if (ctx.param('loss_param').has('normalize')) {
      throw new CaffeToolError('InfogainLoss refuses the deprecated loss_param.normalize: use loss_param.normalization');
    }
    if (ctx.inputs.length < 3 && !p.has('source')) {
      throw new CaffeToolError('the infogain matrix is missing: give infogain_loss_param.source (a binary BlobProto file) or the matrix as a third bottom');
    }
    const loss = lossTop(ctx);
    checkLabelCount(ctx, axis, 'infogain_loss_param.axis');
    const classes = scores[axis];
    if (ctx.inputs.length === 3 && count(ctx.inputs[2]) !== classes * classes) {
      throw new CaffeToolError(
        `the infogain matrix '${ctx.bottoms[2]}' (${formatShape(ctx.inputs[2])}) must hold classes x classes = ${classes}x${classes} = ${classes * classes} values, it has ${count(ctx.inputs[2])}`,
      );
    }
    return ctx.tops.length === 2 ? [loss, [...scores]] : [loss];
  },
};
