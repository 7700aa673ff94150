// Accuracy: the fraction of labels found among the top_k scores along accuracy_param.axis. Top 0 is a scalar
// (shape []); the optional top 1 holds the accuracy of each class, shape [number of classes].
// Caffe's rule (accuracy_layer.cpp): a label counts as found when fewer than top_k + 1 scores are >= its own score,
// so ties go against it; labels equal to ignore_label are skipped; no counted label gives 0, and so does a class
// that never appears in the per-class top.
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
    return ctx.tops.length === 2 ? [[], [scores[axis]]] : [[]];
  },
  toOnnx(ctx) {
    const g = ctx.g;
    const p = ctx.param('accuracy_param');
    const scores = ctx.inputs[0];
    const { classes, inner } = classAxes(ctx, 'accuracy_param');
    const x = g.node('Reshape', [ctx.x[0], g.int64([-1, classes, inner])], { name: `${ctx.name}_scores_3d` });
    const { index, valid } = integerLabels(ctx, ctx.x[1], [-1, 1, inner], ignoreLabel(ctx, 'accuracy_param'));
    const own = g.node('GatherElements', [x, index], { attrs: { axis: 1 }, name: `${ctx.name}_own_score` });
    const atLeast = g.node('Cast', [g.node('GreaterOrEqual', [x, own], { name: `${ctx.name}_ge` })], { attrs: { to: 1 }, name: `${ctx.name}_ge_float` });
    const better = g.node('ReduceSum', [atLeast, g.int64([1])], { attrs: { keepdims: 1 }, name: `${ctx.name}_not_below` });
    const foundBool = g.node('LessOrEqual', [better, g.float32([p.num('top_k')], [])], { name: `${ctx.name}_in_top_k` });
    let found = g.node('Cast', [foundBool], { attrs: { to: 1 }, name: `${ctx.name}_found` });
    if (valid) found = g.node('Mul', [found, valid], { name: `${ctx.name}_found_kept` });
    const counted = valid ? g.node('ReduceSum', [valid], { attrs: { keepdims: 0 }, name: `${ctx.name}_counted` }) : g.float32([count(scores) / classes], []);
    const hits = g.node('ReduceSum', [found], { attrs: { keepdims: 0 }, name: `${ctx.name}_hits` });
    g.node('Div', [hits, g.node('Max', [counted, g.float32([1], [])], { name: `${ctx.name}_counted_min1` })], { outputs: [ctx.y[0]], name: ctx.name });
    if (ctx.y[1]) {
      // Per class: labels of the class found / labels of the class, over the labels not ignored.
      const classIds = g.int64(Array.from({ length: classes }, (_, i) => i), [1, classes, 1]);
      let mine = g.node('Cast', [g.node('Equal', [classIds, index], { name: `${ctx.name}_is_class` })], { attrs: { to: 1 }, name: `${ctx.name}_onehot` });
      if (valid) mine = g.node('Mul', [mine, valid], { name: `${ctx.name}_onehot_kept` });
      const axes = g.int64([0, 2]);
      const perClass = g.node('ReduceSum', [mine, axes], { attrs: { keepdims: 0 }, name: `${ctx.name}_class_count` });
      const perHits = g.node('ReduceSum', [g.node('Mul', [mine, found], { name: `${ctx.name}_class_found` }), axes], { attrs: { keepdims: 0 }, name: `${ctx.name}_class_hits` });
      g.node('Div', [perHits, g.node('Max', [perClass, g.float32([1], [])], { name: `${ctx.name}_class_min1` })], { outputs: [ctx.y[1]], name: `${ctx.name}_per_class` });
    }
  },
};
