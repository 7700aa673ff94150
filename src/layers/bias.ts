// Bias: adds a learned blob (or a second input) broadcast over the input axes [axis, axis + num_axes),
// default the channels. Same shape out.
import { broadcastOperand, checkOperandInput, learnedOperandShape, operandAxis } from './broadcast-operand.js';
import { reduceToSpan } from './broadcast-grad.js';
import type { BlobSpec, LayerContext, LayerDef } from './types.js';

function learned(ctx: LayerContext): BlobSpec[] {
  const p = ctx.param('bias_param');
  const [input, operand] = ctx.inputs;
  if (operand) {
    checkOperandInput(input, operand, p.num('axis'), 'bias_param', 'bias');
    return [];
  }
  return [{ role: 'bias', shape: learnedOperandShape(input, p.num('axis'), p.num('num_axes'), 'bias_param', 'bias') }];
}

export const bias: LayerDef = {
  type: 'Bias',
  param: 'bias_param',
  bottoms: [1, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    learned(ctx);
    return [[...ctx.inputs[0]]];
  },
  blobs: learned,
  toOnnx(ctx) {
    const operand = ctx.inputs[1];
    const axis = operandAxis(ctx, 'bias_param');
    const term = operand
      ? broadcastOperand(ctx, { input: ctx.x[1] }, operand, axis)
      : broadcastOperand(ctx, { learned: 0 }, ctx.learned[0].shape, axis);
    ctx.g.node('Add', [ctx.x[0], term], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // dx = dy; the bias (blob or second input) gets dy summed over the axes it was broadcast along.
    const [input, operand] = ctx.inputs;
    const axis = operandAxis(ctx, 'bias_param');
    const dy = ctx.dy[0]!;
    const needBias = operand ? ctx.needDx[1] : ctx.needDw[0];
    const db = needBias ? reduceToSpan(ctx, dy, input, axis, (operand ?? ctx.learned[0].shape).length, 'dbias') : undefined;
    return operand ? { dx: [dy, db] } : { dx: [dy], dw: [db] };
  },
};
