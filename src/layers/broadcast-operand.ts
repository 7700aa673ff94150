// The operand Scale and Bias broadcast over their first input: a learned blob spanning the input's axes
// [axis, axis + num_axes), or a second input whose shape must match those axes.
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, formatShape } from './shape.js';
import type { LayerContext, OnnxContext, Shape } from './types.js';

/** The learned operand's shape, as LayerSetUp creates it from one input; num_axes -1 runs to the last axis. */
export function learnedOperandShape(input: Shape, axisParam: number, numAxes: number, param: string, what: string): Shape {
  const axis = canonicalAxis(axisParam, input.length, `${param}.axis`);
  if (numAxes < -1) {
    throw new CaffeToolError(`${param}.num_axes is ${numAxes}: it must be non-negative, or -1 to extend to the last input axis`);
  }
  if (numAxes >= 0 && input.length < axis + numAxes) {
    throw new CaffeToolError(`the ${what} blob would extend past the input: axis ${axis} + num_axes ${numAxes} is more than its ${input.length} axes`);
  }
  return input.slice(axis, numAxes === -1 ? undefined : axis + numAxes);
}

/** Reshape's check of a second input used as the operand: it must match the input's axes from `axis` on. */
export function checkOperandInput(input: Shape, operand: Shape, axisParam: number, param: string, what: string): void {
  // A scalar operand (0 axes) is applied from axis 0 whatever `axis` says.
  const axis = operand.length === 0 ? 0 : canonicalAxis(axisParam, input.length, `${param}.axis`);
  if (input.length < axis + operand.length) {
    throw new CaffeToolError(`the ${what} input (${formatShape(operand)}) extends past the first input (${formatShape(input)}) when applied from axis ${axis}`);
  }
  operand.forEach((d, i) => {
    if (input[axis + i] !== d) {
      throw new CaffeToolError(`the ${what} input's axis ${i} is ${d} but the first input's axis ${axis + i} is ${input[axis + i]} (${what} ${formatShape(operand)} applied from axis ${axis} of ${formatShape(input)})`);
    }
  });
}

/** The input axis the operand starts at: a scalar operand input applies from axis 0 whatever `param`.axis says. */
export function operandAxis(ctx: LayerContext, param: string): number {
  const [input, operand] = ctx.inputs;
  return operand?.length === 0 ? 0 : canonicalAxis(ctx.param(param).num('axis'), input.length, `${param}.axis`);
}

/**
 * The operand as an ONNX value that broadcasts like Caffe's (outer, operand, inner) loops: the operand spans the
 * input axes [axis, axis + its rank), so it gets trailing axes of size 1 for the input axes after that span
 * (leading ones broadcast by themselves). A learned blob is stored in that shape; an input is unsqueezed.
 */
export function broadcastOperand(ctx: OnnxContext, operand: { input: string } | { learned: number }, span: Shape, axis: number): string {
  const trailing = ctx.inputs[0].length - axis - span.length;
  const ones = Array.from({ length: trailing }, () => 1);
  if ('learned' in operand) return ctx.weight(operand.learned, span.length ? [...span, ...ones] : []);
  if (!span.length || !trailing) return operand.input;
  const axes = ones.map((_, i) => span.length + i);
  return ctx.g.node('Unsqueeze', [operand.input, ctx.g.int64(axes)], { name: `${ctx.name}_operand` });
}
