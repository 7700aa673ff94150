// Im2col: unrolls every kernel window into the channel axis: C becomes C x prod(kernel), and each spatial
// axis shrinks as a convolution's does, (in + 2p - (d(k-1)+1))/s + 1.
import { CaffeToolError } from '../errors.js';
import { convGeometry, convOutSize } from './conv-geometry.js';
import { Params } from './params.js';
import { count } from './shape.js';
import type { LayerDef } from './types.js';

export const im2col: LayerDef = {
  type: 'Im2col',
  param: 'convolution_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const input = ctx.inputs[0];
    const p = ctx.param('convolution_param');
    // Im2col reads only the kernel/stride/pad/dilation/axis fields: num_output and group play no part.
    const g = convGeometry(new Params({ ...p.msg, num_output: 1, group: 1 }, p.info), input);
    if (input.length - g.axis - 1 < 1) {
      throw new CaffeToolError(`Im2col needs at least one spatial axis after the channel axis ${g.axis} (input is ${input.length}-D)`);
    }
    const out = [...input];
    out[g.axis] *= count(g.kernel);
    g.kernel.forEach((_, i) => (out[g.axis + 1 + i] = convOutSize(input[g.axis + 1 + i], g, i)));
    return [out];
  },
};
