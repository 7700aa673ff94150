// ArgMax: the indices (or with out_max_val, also the values) of the top_k largest values.
// With argmax_param.axis: the input shape with that axis set to top_k. Without: per item (flattened from
// axis 1) a top of max(num_axes, 3) axes, all 1 except [N, 1 (2 with out_max_val), top_k, ...].
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, count } from './shape.js';
import type { LayerDef } from './types.js';

export const argMax: LayerDef = {
  type: 'ArgMax',
  param: 'argmax_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('argmax_param');
    const input = ctx.inputs[0];
    const k = p.num('top_k');
    if (k < 1) throw new CaffeToolError(`argmax_param.top_k must be at least 1, got ${k}`);
    if (p.has('axis')) {
      const axis = canonicalAxis(p.num('axis'), input.length, 'argmax_param.axis');
      if (k > input[axis]) throw new CaffeToolError(`argmax_param.top_k ${k} is larger than axis ${axis} (size ${input[axis]})`);
      const out = [...input];
      out[axis] = k;
      return [out];
    }
    if (input.length === 0) throw new CaffeToolError('ArgMax without argmax_param.axis needs an input with a batch axis, got a 0-D input');
    const perItem = count(input, 1);
    if (k > perItem) {
      throw new CaffeToolError(`argmax_param.top_k ${k} is larger than the ${perItem} values of each item (the input flattened from axis 1; set argmax_param.axis to pick one axis)`);
    }
    const out = Array<number>(Math.max(input.length, 3)).fill(1);
    out[0] = input[0];
    out[1] = p.bool('out_max_val') ? 2 : 1;
    out[2] = k;
    return [out];
  },
};
