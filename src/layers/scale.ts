// Scale: multiplies the first input by a learned blob (or by a second input) broadcast over the input axes
// [axis, axis + num_axes), default the channels; bias_term adds a learned bias of the same span. Same shape out.
import { broadcastOperand, checkOperandInput, learnedOperandShape, operandAxis } from './broadcast-operand.js';
import { reduceToSpan } from './broadcast-grad.js';
import type { BlobSpec, Gradients, LayerContext, LayerDef } from './types.js';

function learned(ctx: LayerContext): BlobSpec[] {
  const p = ctx.param('scale_param');
  const [input, operand] = ctx.inputs;
  const axis = p.num('axis');
  const out: BlobSpec[] = [];
  if (operand) checkOperandInput(input, operand, axis, 'scale_param', 'scale');
  else out.push({ role: 'scale', shape: learnedOperandShape(input, axis, p.num('num_axes'), 'scale_param', 'scale') });
  // Caffe builds an inner Bias layer on the first input; with a scale input its span is that input's axes.
  if (p.bool('bias_term')) {
    const numAxes = operand ? operand.length : p.num('num_axes');
    out.push({ role: 'bias', shape: learnedOperandShape(input, axis, numAxes, 'scale_param', 'bias') });
  }
  return out;
}

export const scale: LayerDef = {
  type: 'Scale',
  param: 'scale_param',
  bottoms: [1, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    learned(ctx);
    return [[...ctx.inputs[0]]];
  },
  blobs: learned,
  toOnnx(ctx) {
    const [input, operand] = ctx.inputs;
    const axis = operandAxis(ctx, 'scale_param');
    const factor = operand
      ? broadcastOperand(ctx, { input: ctx.x[1] }, operand, axis)
      : broadcastOperand(ctx, { learned: 0 }, ctx.learned[0].shape, axis);
    ctx.train?.save('factor', factor);
    const b = operand ? 0 : 1;
    if (ctx.learned.length === b) {
      ctx.g.node('Mul', [ctx.x[0], factor], { outputs: ctx.y, name: ctx.name });
      return;
    }
    const scaled = ctx.g.node('Mul', [ctx.x[0], factor], { name: `${ctx.name}_scale` });
    const biasAxis = ctx.learned[b].shape.length ? axis : 0;
    ctx.g.node('Add', [scaled, broadcastOperand(ctx, { learned: b }, ctx.learned[b].shape, biasAxis)], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // dx = dy * scale; the scale (blob or second input) gets dy * x and the bias dy, each summed over the axes
    // it was broadcast along.
    const [input, operand] = ctx.inputs;
    const axis = operandAxis(ctx, 'scale_param');
    const dy = ctx.dy[0]!;
    const out: Gradients = { dx: [], dw: [] };
    if (ctx.needDx[0]) out.dx![0] = ctx.g.node('Mul', [dy, ctx.saved('factor')], { name: `${ctx.name}_dx` });
    if (operand ? ctx.needDx[1] : ctx.needDw[0]) {
      const span = operand ? operand.length : ctx.learned[0].shape.length;
      const dyx = ctx.g.node('Mul', [dy, ctx.x[0]], { name: `${ctx.name}_dy_x` });
      const d = reduceToSpan(ctx, dyx, input, axis, span, 'dscale');
      if (operand) out.dx![1] = d;
      else out.dw![0] = d;
    }
    const b = operand ? 0 : 1;
    if (ctx.learned.length > b && ctx.needDw[b]) {
      const span = ctx.learned[b].shape.length;
      out.dw![b] = reduceToSpan(ctx, dy, input, span ? axis : 0, span, 'dbias');
    }
    return out;
  },
};
