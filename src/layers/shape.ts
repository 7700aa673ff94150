// Shape arithmetic several layer files share.
import { CaffeToolError } from '../errors.js';
import type { Shape } from './types.js';

export const count = (s: readonly number[], from = 0, to = s.length): number => s.slice(from, to).reduce((a, b) => a * b, 1);

/** Caffe's CanonicalAxisIndex: a negative axis counts from the end; out of range is an error. */
export function canonicalAxis(axis: number, numAxes: number, what = 'axis'): number {
  if (axis < -numAxes || axis >= numAxes) {
    throw new CaffeToolError(`${what} ${axis} is out of range for a ${numAxes}-D input (valid: ${-numAxes} to ${numAxes - 1})`);
  }
  return axis < 0 ? axis + numAxes : axis;
}

export function formatShape(s: Shape | undefined): string {
  if (!s) return '?';
  return s.length ? s.join('x') : 'scalar';
}

/** A shape that must not be empty: the parameter that made it so is named. */
export function checkPositive(size: number, what: string): number {
  if (size <= 0) throw new CaffeToolError(`the output would be empty (${what} gives ${size})`);
  return size;
}

/** The same shape as the first input: element-wise layers. */
export const sameAsInput = (ctx: { inputs: Shape[]; tops: string[] }): Shape[] => ctx.tops.map(() => [...ctx.inputs[0]]);

/**
 * Caffe's legacy num/channels/height/width accessors (LegacyShape): a 4-D view where missing axes read as 1.
 * Caffe aborts on inputs with more than 4 axes there ("Cannot use legacy accessors on Blobs with > 4 axes").
 */
export function legacyShape(s: Shape, who: string): [number, number, number, number] {
  if (s.length > 4) {
    throw new CaffeToolError(`${who} reads its input through Caffe's legacy 4-D accessors (num, channels, height, width), so it cannot take a ${s.length}-D input`);
  }
  const at = (i: number) => (i < s.length ? s[i] : 1);
  return [at(0), at(1), at(2), at(3)];
}

/** Layers whose Caffe code refuses in-place use (a top with the same name as the bottom it reads). */
export function refuseInPlace(ctx: { type: string; bottoms: string[]; tops: string[] }): void {
  const same = ctx.tops.find((t) => t === ctx.bottoms[0]);
  if (same !== undefined) {
    throw new CaffeToolError(`a ${ctx.type} layer cannot work in place: give top '${same}' a name different from its bottom`);
  }
}
