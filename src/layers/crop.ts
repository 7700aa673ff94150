// Crop: the first bottom cut to the size of the second on every axis from `axis` (default 2) on, starting at
// `offset` (one value for all cropped axes, or one per cropped axis; default 0).
import { CaffeToolError } from '../errors.js';
import { canonicalAxis } from './shape.js';
import type { LayerDef } from './types.js';

export const crop: LayerDef = {
  type: 'Crop',
  param: 'crop_param',
  bottoms: [2, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const [data, like] = ctx.inputs;
    const p = ctx.param('crop_param');
    const axis = canonicalAxis(p.num('axis'), data.length, 'crop_param.axis');
    const offsets = p.list('offset');
    if (offsets.length > 1 && axis + offsets.length !== data.length) {
      throw new CaffeToolError(
        `crop_param has ${offsets.length} offsets, but cropping from axis ${axis} of a ${data.length}-D input needs ${data.length - axis} (one per cropped axis) or a single one`,
      );
    }
    if (like.length < data.length) {
      throw new CaffeToolError(`the reference input (bottom 1) has ${like.length} axes, fewer than the ${data.length} of the data it crops`);
    }
    return [data.map((size, i) => {
      if (i < axis) return size;
      const offset = offsets.length === 0 ? 0 : offsets[offsets.length === 1 ? 0 : i - axis];
      if (offset + like[i] > size) {
        throw new CaffeToolError(`the crop on axis ${i} is out of bounds: offset ${offset} + size ${like[i]} exceeds the input's ${size}`);
      }
      return like[i];
    })];
  },
};
