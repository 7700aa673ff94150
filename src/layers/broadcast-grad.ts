// Gradients of values that were broadcast in the forward (a Scale or Bias operand, per-channel statistics and
// blobs): the gradient of the full-shape result summed back over the axes the value was repeated along.
import type { OnnxContext, Shape } from './types.js';

/** ReduceSum of `x` over `axes` (x itself when there are none: an empty axes input would sum everything). */
export function sumOver(ctx: OnnxContext, x: string, axes: number[], keepdims: boolean, what: string): string {
  if (!axes.length) return x;
  return ctx.g.node('ReduceSum', [x, ctx.g.int64(axes)], { name: `${ctx.name}_${what}`, attrs: { keepdims: keepdims ? 1 : 0 } });
}

/**
 * The gradient of an operand spanning the input axes [axis, axis + span) from the gradient `grad` of its
 * broadcast (the input's shape): the sum over every other axis, in the span's shape (a scalar for span 0).
 */
export function reduceToSpan(ctx: OnnxContext, grad: string, input: Shape, axis: number, span: number, what: string): string {
  const axes = input.map((_, i) => i).filter((i) => i < axis || i >= axis + span);
  return sumOver(ctx, grad, axes, false, what);
}

/** Every axis but the channels (1): the axes batch normalization takes its statistics over. */
export function allButChannels(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}

/** A tensor of zeros of a static shape (the gradient of a top nothing reached). */
export function zeros(ctx: OnnxContext, shape: Shape): string {
  return ctx.g.node('Expand', [ctx.g.float32([0], []), ctx.g.int64(shape)], { name: `${ctx.name}_zeros` });
}
