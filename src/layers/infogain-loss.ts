// InfogainLoss: softmax along infogain_loss_param.axis, then the log-probabilities weighted by row `label` of the
// infogain matrix H (C x C, from infogain_loss_param.source or a third bottom). Top 0 is the scalar loss (shape []);
// the optional top 1 is the probabilities, shaped like the scores. As BVLC's current layer (the softmax inside):
// loss = -sum over labels not ignored of sum_l H[label, l] log(max(p_l, 1e-20)) / normalizer; its gradient
// p_l * rowsum(H)[label] - H[label, l] (Caffe's, which ignores the clamp).
import { CaffeToolError } from '../errors.js';
import { blobData } from '../io/blob.js';
import { readCaffeFile } from '../io/files.js';
import { zeros } from './broadcast-grad.js';
import { checkLabelCount, classAxes, ignoreLabel, integerLabels, lossScale, lossTop, negativeLogLikelihood, normalizationMode, normalizer, refuseLabelGradient } from './loss-layer.js';
import { count, formatShape } from './shape.js';
import type { LayerDef, OnnxContext } from './types.js';

const LOG_THRESHOLD = 1e-20;

/** H as a [C, C] value: the third bottom, or the BlobProto file infogain_loss_param.source (read when the graph is built). */
function infogainMatrix(ctx: OnnxContext, classes: number): string {
  if (ctx.x.length === 3) return ctx.g.node('Reshape', [ctx.x[2], ctx.g.int64([classes, classes])], { name: `${ctx.name}_H` });
  const source = ctx.param('infogain_loss_param').str('source');
  const data = blobData(readCaffeFile(source, { kinds: ['blob'] }).message);
  if (data.length !== classes * classes) {
    throw new CaffeToolError(`the infogain matrix ${source} holds ${data.length} values; ${classes} classes need ${classes}x${classes} = ${classes * classes}`);
  }
  return ctx.g.initializer(`${ctx.name}_H`, Float32Array.from(data), [classes, classes]);
}

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
    const { axis } = classAxes(ctx, 'infogain_loss_param');
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
  toOnnx(ctx) {
    const g = ctx.g;
    const { outer, classes, inner } = classAxes(ctx, 'infogain_loss_param');
    const x = g.node('Reshape', [ctx.x[0], g.int64([-1, classes, inner])], { name: `${ctx.name}_scores_3d` });
    const prob = g.node('Softmax', [x], { attrs: { axis: 1 }, name: `${ctx.name}_prob` });
    if (ctx.y[1]) g.node('Reshape', [prob, g.int64(ctx.inputs[0])], { outputs: [ctx.y[1]], name: `${ctx.name}_prob_top` });
    const { index, valid } = integerLabels(ctx, ctx.x[1], [-1, inner], ignoreLabel(ctx));
    // Row `label` of H for every position: [outer, inner, C] -> [outer, C, inner].
    const rows = g.node('Transpose', [g.node('Gather', [infogainMatrix(ctx, classes), index], { attrs: { axis: 0 }, name: `${ctx.name}_H_rows` })], { attrs: { perm: [0, 2, 1] }, name: `${ctx.name}_H_rows_t` });
    const logp = g.node('Log', [g.node('Max', [prob, g.float32([LOG_THRESHOLD], [])], { name: `${ctx.name}_clamp` })], { name: `${ctx.name}_logp` });
    let terms = g.node('ReduceSum', [g.node('Mul', [rows, logp], { name: `${ctx.name}_weighted` }), g.int64([1])], { attrs: { keepdims: 0 }, name: `${ctx.name}_per_position` });
    if (valid) terms = g.node('Mul', [terms, valid], { name: `${ctx.name}_kept` });
    const norm = normalizer(ctx, normalizationMode(ctx, 'default'), outer, inner, valid);
    negativeLogLikelihood(ctx, terms, norm);
    if (ctx.train) {
      ctx.train.save('prob', prob);
      ctx.train.save('rows', rows);
      if (valid) ctx.train.save('valid', g.node('Unsqueeze', [valid, g.int64([1])], { name: `${ctx.name}_valid_3d` }));
      ctx.train.save('normalizer', norm);
    }
  },
  gradient(ctx) {
    const g = ctx.g;
    if (ctx.needDx[2]) throw new CaffeToolError('InfogainLoss cannot backpropagate to the infogain matrix', { hint: 'add propagate_down: false for its third bottom' });
    refuseLabelGradient(ctx);
    if (!ctx.needDx[0]) return {};
    const scores = ctx.inputs[0];
    if (!ctx.dy[0]) return { dx: [zeros(ctx, scores)] };
    const rows = ctx.saved('rows');
    const rowSum = g.node('ReduceSum', [rows, g.int64([1])], { attrs: { keepdims: 1 }, name: `${ctx.name}_row_sum` });
    let diff = g.node('Sub', [g.node('Mul', [ctx.saved('prob'), rowSum], { name: `${ctx.name}_p_rowsum` }), rows], { name: `${ctx.name}_diff` });
    if (ignoreLabel(ctx) !== undefined) diff = g.node('Mul', [diff, ctx.saved('valid')], { name: `${ctx.name}_diff_kept` });
    const dx = g.node('Mul', [diff, lossScale(ctx)], { name: `${ctx.name}_dx_3d` });
    return { dx: [g.node('Reshape', [dx, g.int64(scores)], { name: `${ctx.name}_dx` })] };
  },
};
