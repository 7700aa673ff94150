// Shape arithmetic several layer files share.
import { CaffeToolError } from '../errors.js';
import type { Shape } from './types.js';

export const count = (s: Shape, from = 0, to = s.length): number => s.slice(from, to).reduce((a, b) => a * b, 1);

/** Caffe's CanonicalAxisIndex: a negative axis counts from the end; out of range is an error. */
export function canonicalAxis(axis: number, numAxes: number, what = 'axis'): number {
  if (axis < -numAxes || axis >= numAxes) {
    throw new CaffeToolError(`${what} ${axis} is out of range for a ${numAxes}-D input (valid: ${-numAxes} to ${numAxes - 1})`);
  }
  return axis < 0 ? axis + numAxes : axis;
}

export function formatShape(s: Shape | undefined): string {
  return s ? s.join('x') : '?';
}

/** A shape that must not be empty: the parameter that made it so is named. */
export function checkPositive(size: number, what: string): number {
  if (size <= 0) throw new CaffeToolError(`the output would be empty (${what} gives ${size})`);
  return size;
}

/** The same shape as the first input: element-wise layers. */
export const sameAsInput = (ctx: { inputs: Shape[]; tops: string[] }): Shape[] => ctx.tops.map(() => [...ctx.inputs[0]]);
