// BatchReindex: picks items of bottom 0 along axis 0 by the indices in bottom 1 (1-D): the top is
// [len(indices), ...bottom 0's other dims].
import { CaffeToolError } from '../errors.js';
import type { LayerDef } from './types.js';

export const batchReindex: LayerDef = {
  type: 'BatchReindex',
  bottoms: [2, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const [data, indices] = ctx.inputs;
    if (indices.length !== 1) throw new CaffeToolError(`the index bottom '${ctx.bottoms[1]}' must be 1-D (a list of item indices), got ${indices.length}-D`);
    return [[indices[0], ...data.slice(1)]];
  },
  toOnnx(ctx) {
    // Item i of the top is item static_cast<int>(indices[i]) of the data (the float cast to int64 truncates alike).
    const index = ctx.g.node('Cast', [ctx.x[1]], { name: `${ctx.name}_index`, attrs: { to: 7 } });
    ctx.g.node('Gather', [ctx.x[0], index], { outputs: ctx.y, name: ctx.name, attrs: { axis: 0 } });
  },
};
