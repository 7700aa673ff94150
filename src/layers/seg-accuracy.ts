// SegAccuracy (DeepLab v2, and PSPNet's release, which has DeepLab's layer): pixel accuracy, mean class recall and
// mean IoU of N x C x H x W scores against N x 1 x H x W labels, from a confusion matrix; top [1, 1, 1, 3].
// As seg_accuracy_layer.cpp: the prediction is the top of a partial_sort of (score, class) pairs, so among equal
// scores the higher class wins; `reset: false` keeps counting over every forward (not supported here: it would be
// state carried across steps). The measures are util/confusion_matrix.cpp's, in double: accuracy = diagonal / total
// (0 for no pixel); mean recall over the classes that occur (0 if none); mean IoU over all classes, a class absent
// from both truth and prediction counting 1. A label neither ignored nor in [0, C) aborts Caffe (LOG(FATAL)); here
// it is not counted.
import { CaffeToolError } from '../errors.js';
import { forkParam } from './fork-param.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef, OnnxContext } from './types.js';

const FLOAT = 1;
const INT64 = 7;
const DOUBLE = 11;

export const segAccuracy: LayerDef = {
  type: 'SegAccuracy',
  trainingOnly: true,
  param: 'seg_accuracy_param',
  bottoms: [2, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const [scores, label] = ctx.inputs.map((s) => legacyShape(s, 'SegAccuracy'));
    const both = `the scores '${ctx.bottoms[0]}' (${formatShape(ctx.inputs[0])}) and the label '${ctx.bottoms[1]}' (${formatShape(ctx.inputs[1])})`;
    if (scores[0] !== label[0]) throw new CaffeToolError(`${both} must have the same number of images, got ${scores[0]} and ${label[0]}`);
    if (label[1] !== 1) throw new CaffeToolError(`the label '${ctx.bottoms[1]}' (${formatShape(ctx.inputs[1])}) must have one channel, got ${label[1]}`);
    if (scores[2] !== label[2] || scores[3] !== label[3]) {
      throw new CaffeToolError(`${both} must have the same height and width, got ${scores[2]}x${scores[3]} and ${label[2]}x${label[3]}`);
    }
    return [[1, 1, 1, 3]];
  },
  toOnnx(ctx) {
    const g = ctx.g;
    const p = forkParam(ctx, 'seg_accuracy_param', ['deeplab', 'pspnet']);
    if (!p.bool('reset')) {
      throw new CaffeToolError('seg_accuracy_param.reset: false (counting over every forward since the start) is not supported', {
        hint: 'remove it: the default, reset: true, scores each batch on its own',
      });
    }
    const [n, classes, h, w] = legacyShape(ctx.inputs[0], 'SegAccuracy');
    const name = (what: string) => `${ctx.name}_${what}`;
    const scores = g.node('Reshape', [ctx.x[0], g.int64([n, classes, h * w])], { name: name('scores') });
    const truth = g.node('Cast', [g.node('Reshape', [ctx.x[1], g.int64([n, h * w])], { name: name('label') })], { attrs: { to: INT64 }, name: name('truth') });
    // The highest class holding the largest score. (ArgMax's select_last_index says the same, but ONNX Runtime's
    // CUDA provider runs that on the CPU.)
    const largest = g.node('ReduceMax', [scores, g.int64([1])], { attrs: { keepdims: 1 }, name: name('largest') });
    const classIds = g.float32(Array.from({ length: classes }, (_, k) => k), [1, classes, 1]);
    const topClasses = g.node('Where', [g.node('Equal', [scores, largest], { name: name('is_largest') }), classIds, g.float32([-1], [])], { name: name('top_classes') });
    const predicted = g.node('Cast', [g.node('ReduceMax', [topClasses, g.int64([1])], { attrs: { keepdims: 0 }, name: name('top_class') })], { attrs: { to: INT64 }, name: name('predicted') });
    let counted = g.node('And', [
      g.node('GreaterOrEqual', [truth, g.int64([0], [])], { name: name('not_negative') }),
      g.node('Less', [truth, g.int64([classes], [])], { name: name('below_classes') }),
    ], { name: name('in_range') });
    for (const [i, ignore] of p.list('ignore_label').entries()) {
      counted = g.node('And', [counted, g.node('Not', [g.node('Equal', [truth, g.int64([ignore], [])], { name: name(`is_ignored${i}`) })], { name: name(`kept${i}`) })], { name: name(`counted${i}`) });
    }
    // The confusion matrix (truth, prediction): each counted pixel adds 1 at truth * classes + prediction.
    const cell = g.node('Add', [g.node('Mul', [truth, g.int64([classes], [])], { name: name('row') }), predicted], { name: name('cell') });
    const flat = g.int64([-1]);
    const zero = g.int64([0], []);
    const counts = g.node('ScatterElements', [
      g.node('ConstantOfShape', [g.int64([classes * classes])], { name: name('empty') }),
      g.node('Reshape', [g.node('Where', [counted, cell, zero], { name: name('cell_kept') }), flat], { name: name('cells') }),
      g.node('Reshape', [g.node('Cast', [counted], { attrs: { to: FLOAT }, name: name('ones') }), flat], { name: name('increments') }),
    ], { attrs: { axis: 0, reduction: 'add' }, name: name('counts') });
    const matrix = g.node('Cast', [g.node('Reshape', [counts, g.int64([classes, classes])], { name: name('matrix_float') })], { attrs: { to: DOUBLE }, name: name('matrix') });
    const m = confusionMeasures(ctx, matrix, classes);
    const row = g.node('Concat', [m.accuracy, m.meanRecall, m.meanIou], { attrs: { axis: 0 }, name: name('measures') });
    g.node('Reshape', [g.node('Cast', [row], { attrs: { to: FLOAT }, name: name('measures_float') }), g.int64([1, 1, 1, 3])], { outputs: ctx.y, name: ctx.name });
  },
};

/** confusion_matrix.cpp's measures of a [classes, classes] double matrix (rows: truth, columns: prediction). */
function confusionMeasures(ctx: OnnxContext, matrix: string, classes: number) {
  const g = ctx.g;
  const name = (what: string) => `${ctx.name}_${what}`;
  const double = (v: number) => g.node('Cast', [g.float32([v], [])], { attrs: { to: DOUBLE }, name: name(`const_${v}`) });
  const [zero, one] = [double(0), double(1)];
  const sum = (v: string, axes: number[], what: string) => g.node('ReduceSum', [v, g.int64(axes)], { attrs: { keepdims: 0 }, name: name(what) });
  const eye = Float32Array.from({ length: classes * classes }, (_, i) => (i % (classes + 1) === 0 ? 1 : 0));
  const diagonal = sum(g.node('Mul', [matrix, g.node('Cast', [g.float32(eye, [classes, classes])], { attrs: { to: DOUBLE }, name: name('eye') })], { name: name('diagonal_cells') }), [1], 'diagonal');
  const rows = sum(matrix, [1], 'row_sums');
  const cols = sum(matrix, [0], 'col_sums');
  const total = sum(rows, [0], 'total');
  // Counts are whole numbers: max(x, 1) guards exactly the zeros.
  const atLeastOne = (v: string, what: string) => g.node('Max', [v, one], { name: name(`${what}_min1`) });
  const accuracy = g.node('Div', [sum(diagonal, [0], 'diagonal_sum'), atLeastOne(total, 'total')], { name: name('accuracy') });
  const occurs = g.node('Cast', [g.node('Greater', [rows, zero], { name: name('occurs_bool') })], { attrs: { to: DOUBLE }, name: name('occurs') });
  const recallSum = sum(g.node('Div', [diagonal, atLeastOne(rows, 'rows')], { name: name('recalls') }), [0], 'recall_sum');
  const meanRecall = g.node('Div', [recallSum, atLeastOne(sum(occurs, [0], 'occurring'), 'occurring')], { name: name('mean_recall') });
  const union = g.node('Sub', [g.node('Add', [rows, cols], { name: name('rows_cols') }), diagonal], { name: name('union') });
  const iou = g.node('Where', [
    g.node('Equal', [diagonal, union], { name: name('whole') }), one, g.node('Div', [diagonal, atLeastOne(union, 'union')], { name: name('iou_ratio') }),
  ], { name: name('iou') });
  const meanIou = g.node('ReduceMean', [iou, g.int64([0])], { attrs: { keepdims: 0 }, name: name('mean_iou') });
  const scalar = (v: string) => g.node('Reshape', [v, g.int64([1])], { name: `${v}_1` });
  return { accuracy: scalar(accuracy), meanRecall: scalar(meanRecall), meanIou: scalar(meanIou) };
}
