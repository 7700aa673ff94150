// The axis of Concat and Slice: `axis` (negative counts from the end) or the legacy unsigned
// `concat_dim`/`slice_dim`, never both.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';
import { canonicalAxis } from './shape.js';

export function axisOrLegacyDim(p: Params, numAxes: number, param: string, legacy: string): number {
  if (p.has('axis') && p.has(legacy)) throw new CaffeToolError(`give either ${param}.axis or the legacy ${param}.${legacy}, not both`);
  if (!p.has(legacy)) return canonicalAxis(p.num('axis'), numAxes, `${param}.axis`);
  const dim = p.num(legacy);
  if (dim >= numAxes) throw new CaffeToolError(`${param}.${legacy} ${dim} is out of range for a ${numAxes}-D input (valid: 0 to ${numAxes - 1})`);
  return dim;
}
