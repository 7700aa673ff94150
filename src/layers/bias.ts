// Bias: adds a learned blob (or a second input) broadcast over the input axes [axis, axis + num_axes),
// default the channels. Same shape out.
import { checkOperandInput, learnedOperandShape } from './broadcast-operand.js';
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
};
