// What every Caffe loss layer (LossLayer) shares: the loss top is a scalar of zero axes, shape [], and the
// prediction and the label must agree on their first axis, the batch. Also the label count rule of the layers that
// score classes along an axis (SoftmaxWithLoss, InfogainLoss, Accuracy).
import { CaffeToolError } from '../errors.js';
import { count, formatShape } from './shape.js';
import type { LayerContext, Shape } from './types.js';

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
