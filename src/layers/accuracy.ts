// Accuracy: the fraction of labels found among the top_k scores along accuracy_param.axis. Top 0 is a scalar
// (shape []); the optional top 1 holds the accuracy of each class, shape [number of classes].
// Caffe's rule (accuracy_layer.cpp): a label counts as found when fewer than top_k + 1 scores are >= its own score,
// so ties go against it; labels equal to ignore_label are skipped; no counted label gives 0, and so does a class
// that never appears in the per-class top. SegNet's fork keeps the older code: a partial_sort of (score, class)
// pairs, so among equal scores the higher class comes first; it divides without a guard (NaN for no counted
// label, and for a class absent from the batch) and shapes the per-class top [C, 1, 1, 1].
import { CaffeToolError } from '../errors.js';
import { checkLabelCount, classAxes, ignoreLabel, integerLabels } from './loss-layer.js';
import { count } from './shape.js';
import type { LayerDef } from './types.js';

export const accuracy: LayerDef = {
  type: 'Accuracy',
  trainingOnly: true,
  param: 'accuracy_param',
  bottoms: [2, 2],
  // Caffe's header misspells MaxTopBlobs (MaxTopBlos), so Caffe itself lets a third top through unshaped.
  tops: [1, 2],
  outputShapes(ctx) {
    const p = ctx.param('accuracy_param');
    const [scores, label] = ctx.inputs;
    const topK = p.num('top_k');
    // Caffe compares with the integer quotient count(scores) / count(labels), before it checks the label count.
    const classes = Math.trunc(count(scores) / count(label));
    if (topK > classes) {
      throw new CaffeToolError(`accuracy_param.top_k ${topK} is more than the ${classes} classes (${count(scores)} scores for ${count(label)} labels)`);
    }
    const { axis } = classAxes(ctx, 'accuracy_param');
    checkLabelCount(ctx, axis, 'accuracy_param.axis');
    return ctx.tops.length === 2 ? [[], ctx.dialect === 'segnet' ? [scores[axis], 1, 1, 1] : [scores[axis]]] : [[]];
  },
  toOnnx(ctx) {
    const g = ctx.g;
    const p = ctx.param('accuracy_param');
    const scores = ctx.inputs[0];
    const { classes, inner } = classAxes(ctx, 'accuracy_param');
    const x = g.node('Reshape', [ctx.x[0], g.int64([-1, classes, inner])], { name: `${ctx.name}_scores_3d` });
    const { index, valid } = integerLabels(ctx, ctx.x[1], [-1, 1, inner], ignoreLabel(ctx, 'accuracy_param'));
    const segnet = ctx.dialect === 'segnet';
    const own = g.node('GatherElements', [x, index], { attrs: { axis: 1 }, name: `${ctx.name}_own_score` });
    const classIds = g.int64(Array.from({ length: classes }, (_, i) => i), [1, classes, 1]);
    const asFloat = (b: string, what: string) => g.node('Cast', [b], { attrs: { to: 1 }, name: `${ctx.name}_${what}_float` });
    const sum = (v: string, what: string) => g.node('ReduceSum', [v, g.int64([1])], { attrs: { keepdims: 1 }, name: `${ctx.name}_${what}` });
    let foundBool: string;
    if (segnet) {
      // (score, class) pairs above the label's own: a higher score, or the same score and a higher class.
      const tieAbove = g.node('And', [g.node('Equal', [x, own]), g.node('Greater', [classIds, index])], { name: `${ctx.name}_tie_above` });
      const above = g.node('Add', [sum(asFloat(g.node('Greater', [x, own]), 'gt'), 'above'), sum(asFloat(tieAbove, 'tie'), 'ties_above')]);
      foundBool = g.node('Less', [above, g.float32([p.num('top_k')], [])], { name: `${ctx.name}_in_top_k` });
    } else {
      const notBelow = sum(asFloat(g.node('GreaterOrEqual', [x, own], { name: `${ctx.name}_ge` }), 'ge'), 'not_below');
      foundBool = g.node('LessOrEqual', [notBelow, g.float32([p.num('top_k')], [])], { name: `${ctx.name}_in_top_k` });
    }
    let found = g.node('Cast', [foundBool], { attrs: { to: 1 }, name: `${ctx.name}_found` });
    if (valid) found = g.node('Mul', [found, valid], { name: `${ctx.name}_found_kept` });
    const counted = valid ? g.node('ReduceSum', [valid], { attrs: { keepdims: 0 }, name: `${ctx.name}_counted` }) : g.float32([count(scores) / classes], []);
    const hits = g.node('ReduceSum', [found], { attrs: { keepdims: 0 }, name: `${ctx.name}_hits` });
    const atLeastOne = (n: string, what: string) => (segnet ? n : g.node('Max', [n, g.float32([1], [])], { name: `${ctx.name}_${what}_min1` }));
    g.node('Div', [hits, atLeastOne(counted, 'counted')], { outputs: [ctx.y[0]], name: ctx.name });
    if (ctx.y[1]) {
      // Per class: labels of the class found / labels of the class, over the labels not ignored.
      let mine = g.node('Cast', [g.node('Equal', [classIds, index], { name: `${ctx.name}_is_class` })], { attrs: { to: 1 }, name: `${ctx.name}_onehot` });
      if (valid) mine = g.node('Mul', [mine, valid], { name: `${ctx.name}_onehot_kept` });
      const axes = g.int64([0, 2]);
      const perClass = g.node('ReduceSum', [mine, axes], { attrs: { keepdims: 0 }, name: `${ctx.name}_class_count` });
      const perHits = g.node('ReduceSum', [g.node('Mul', [mine, found], { name: `${ctx.name}_class_found` }), axes], { attrs: { keepdims: 0 }, name: `${ctx.name}_class_hits` });
      if (segnet) {
        const ratio = g.node('Div', [perHits, perClass], { name: `${ctx.name}_per_class_flat` });
        g.node('Reshape', [ratio, g.int64([classes, 1, 1, 1])], { outputs: [ctx.y[1]], name: `${ctx.name}_per_class` });
      } else g.node('Div', [perHits, atLeastOne(perClass, 'class')], { outputs: [ctx.y[1]], name: `${ctx.name}_per_class` });
    }
  },
};
