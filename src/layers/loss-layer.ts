// What every Caffe loss layer (LossLayer) shares: the loss top is a scalar of zero axes, shape [], and the
// prediction and the label must agree on their first axis, the batch. Also the label count rule of the layers that
// score classes along an axis (SoftmaxWithLoss, InfogainLoss, Accuracy), and the pieces of their ONNX forwards:
// integer labels with ignore_label, and the normalizer (LossLayer::GetNormalizer).
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, count, formatShape } from './shape.js';
import type { GradContext, LayerContext, OnnxContext, Shape } from './types.js';

/** LossLayer::Reshape: checks bottoms 0 and 1 share their first axis and gives the loss top's shape, []. */
export function lossTop(ctx: LayerContext): Shape {
  const [data, label] = ctx.inputs;
  if (!data.length || !label.length) {
    throw new CaffeToolError(`the data '${ctx.bottoms[0]}' and the label '${ctx.bottoms[1]}' need at least one axis (the batch), got ${formatShape(data)} and ${formatShape(label)}`);
  }
  if (data[0] !== label[0]) {
    throw new CaffeToolError(
      `the data '${ctx.bottoms[0]}' (${formatShape(data)}) and the label '${ctx.bottoms[1]}' (${formatShape(label)}) must have the same first axis (the batch), got ${data[0]} and ${label[0]}`,
    );
  }
  return [];
}

/**
 * One label per position of the scores outside the class axis: outer (the axes before it) times inner (the axes
 * after it), as SoftmaxWithLoss, InfogainLoss and Accuracy check it. `param` names the field that set the axis.
 */
export function checkLabelCount(ctx: LayerContext, axis: number, param: string): void {
  const [scores, label] = ctx.inputs;
  const outer = count(scores, 0, axis);
  const inner = count(scores, axis + 1);
  if (outer * inner !== count(label)) {
    throw new CaffeToolError(
      `the label '${ctx.bottoms[1]}' (${formatShape(label)}) has ${count(label)} values, but the scores '${ctx.bottoms[0]}' (${formatShape(scores)}) with the class axis ${axis} (${param}) need one label per position: outer*inner = ${outer}*${inner} = ${outer * inner}`,
    );
  }
}

/** The scores seen as [outer, classes, inner] around the class axis that `param`.axis sets. */
export function classAxes(ctx: LayerContext, param: string): { axis: number; outer: number; classes: number; inner: number } {
  const scores = ctx.inputs[0];
  const axis = canonicalAxis(ctx.param(param).num('axis'), scores.length, `${param}.axis`);
  return { axis, outer: count(scores, 0, axis), classes: scores[axis], inner: count(scores, axis + 1) };
}

/** LossParameter.NormalizationMode: what a loss is divided by. */
export type Normalization = 'FULL' | 'VALID' | 'BATCH_SIZE' | 'NONE';

/**
 * The normalization a loss layer uses: loss_param.normalization when set, else the legacy `normalize` (true VALID,
 * false BATCH_SIZE), else `fallback` (SoftmaxWithLoss: normalization's default VALID; SigmoidCrossEntropyLoss keeps
 * its old BATCH_SIZE). Forks without the `normalization` field (SegNet) only have `normalize`, default true.
 */
export function normalizationMode(ctx: LayerContext, fallback: 'default' | Normalization): Normalization {
  const p = ctx.param('loss_param');
  const hasField = p.info.byName.has('normalization');
  if (hasField && p.has('normalization')) return p.str('normalization') as Normalization;
  if (p.has('normalize')) return p.bool('normalize') ? 'VALID' : 'BATCH_SIZE';
  if (fallback !== 'default') return fallback;
  return hasField ? (p.str('normalization') as Normalization) : p.bool('normalize') ? 'VALID' : 'BATCH_SIZE';
}

/**
 * The labels as Caffe reads them (static_cast<int> of the float, toward zero), int64 shaped `dims`, and with
 * an ignore_label a float mask, 1 where the label counts and 0 where it is ignored. Ignored positions read
 * label 0 in `index`, so gathering with it stays in range; their terms are masked out by `valid`. Labels outside
 * [0, classes) are an error in Caffe (a DCHECK); a graph cannot stop on them: ONNX Runtime reports the gather's
 * index out of range.
 */
export function integerLabels(ctx: OnnxContext, label: string, dims: number[], ignoreLabel: number | undefined): { index: string; valid?: string } {
  const g = ctx.g;
  const int = g.node('Cast', [g.node('Reshape', [label, g.int64(dims)], { name: `${ctx.name}_label_shape` })], { attrs: { to: 7 }, name: `${ctx.name}_label_int` });
  if (ignoreLabel === undefined) return { index: int };
  const ignored = g.node('Equal', [int, g.int64([ignoreLabel], [])], { name: `${ctx.name}_ignored` });
  const index = g.node('Where', [ignored, g.int64([0], []), int], { name: `${ctx.name}_label_index` });
  const valid = g.node('Where', [ignored, g.float32([0], []), g.float32([1], [])], { name: `${ctx.name}_valid` });
  return { index, valid };
}

/**
 * LossLayer::GetNormalizer as a scalar ONNX value: FULL outer*inner, VALID the count of labels not ignored (all of
 * them without ignore_label), BATCH_SIZE outer, NONE 1; never below 1.
 */
export function normalizer(ctx: OnnxContext, mode: Normalization, outer: number, inner: number, valid?: string): string {
  const g = ctx.g;
  if (mode === 'VALID' && valid) {
    return g.node('Max', [g.node('ReduceSum', [valid], { attrs: { keepdims: 0 }, name: `${ctx.name}_valid_count` }), g.float32([1], [])], { name: `${ctx.name}_normalizer` });
  }
  const n = mode === 'FULL' || mode === 'VALID' ? outer * inner : mode === 'BATCH_SIZE' ? outer : 1;
  return g.float32([Math.max(1, n)], []);
}

/** The loss top: -sum(terms) / normalizer, the terms being the log-likelihoods (weighted, ignored ones zeroed). */
export function negativeLogLikelihood(ctx: OnnxContext, terms: string, norm: string): void {
  const sum = ctx.g.node('ReduceSum', [terms], { attrs: { keepdims: 0 }, name: `${ctx.name}_sum` });
  ctx.g.node('Div', [ctx.g.node('Neg', [sum], { name: `${ctx.name}_neg` }), norm], { outputs: [ctx.y[0]], name: ctx.name });
}

/** The gradient's scale dy / normalizer (dy: the loss top's gradient, loss_weight for a loss). */
export function lossScale(ctx: GradContext): string {
  return ctx.g.node('Div', [ctx.dy[0]!, ctx.saved('normalizer')], { name: `${ctx.name}_scale` });
}

/** loss_param.ignore_label (or another message's), when given. */
export function ignoreLabel(ctx: LayerContext, field = 'loss_param'): number | undefined {
  const p = ctx.param(field);
  return p.has('ignore_label') ? p.num('ignore_label') : undefined;
}

/** Caffe's loss layers stop when asked for the labels' gradient ("cannot backpropagate to label inputs"). */
export function refuseLabelGradient(ctx: GradContext): void {
  if (ctx.needDx[1]) {
    throw new CaffeToolError(`${ctx.type} cannot backpropagate to its label input '${ctx.bottoms[1]}'`, {
      hint: 'give the layer propagate_down: true propagate_down: false, or feed the labels from a data layer',
    });
  }
}
