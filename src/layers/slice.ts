// Slice: cuts the bottom along slice_param.axis (default 1, or the legacy slice_dim) at the absolute offsets
// slice_point (one fewer than the tops), or into equal parts when no slice_point is given.
import { CaffeToolError } from '../errors.js';
import { axisOrLegacyDim } from './legacy-axis.js';
import type { LayerDef } from './types.js';

export const slice: LayerDef = {
  type: 'Slice',
  param: 'slice_param',
  bottoms: [1, 1],
  tops: [1, Infinity],
  outputShapes(ctx) {
    const p = ctx.param('slice_param');
    const input = ctx.inputs[0];
    const axis = axisOrLegacyDim(p, input.length, 'slice_param', 'slice_dim');
    const size = input[axis];
    const tops = ctx.tops.length;
    const points = p.list('slice_point');
    let sizes: number[];
    if (points.length) {
      if (points.length !== tops - 1) {
        throw new CaffeToolError(`slice_param has ${points.length} slice_point values for ${tops} tops: give one fewer than the tops (${tops - 1})`);
      }
      if (tops > size) throw new CaffeToolError(`axis ${axis} has size ${size}: it cannot be cut into ${tops} tops`);
      sizes = [];
      let prev = 0;
      for (const pt of points) {
        if (pt <= prev) throw new CaffeToolError(`slice_point values must be strictly increasing and positive (absolute offsets): ${pt} after ${prev}`);
        sizes.push(pt - prev);
        prev = pt;
      }
      if (prev >= size) throw new CaffeToolError(`slice_point ${prev} is not inside axis ${axis} (size ${size}): the last top would be empty`);
      sizes.push(size - prev);
    } else {
      if (size % tops !== 0) {
        throw new CaffeToolError(`without slice_point the ${tops} tops split axis ${axis} equally, but its size ${size} does not divide by ${tops}`);
      }
      sizes = Array<number>(tops).fill(size / tops);
    }
    return sizes.map((d) => input.map((x, i) => (i === axis ? d : x)));
  },
};
