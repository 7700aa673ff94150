// EuclideanLoss: the sum of squared differences of its two inputs over 2N. Both inputs need the same first axis
// and the same count per item; the loss top is a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { lossTop } from './loss-layer.js';
import { count, formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const euclideanLoss: LayerDef = {
  type: 'EuclideanLoss',
  trainingOnly: true,
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const loss = lossTop(ctx);
    const [a, b] = ctx.inputs;
    if (count(a, 1) !== count(b, 1)) {
      throw new CaffeToolError(
        `'${ctx.bottoms[0]}' (${formatShape(a)}) and '${ctx.bottoms[1]}' (${formatShape(b)}) must have the same number of values per item: ${count(a, 1)} and ${count(b, 1)} after the first axis`,
      );
    }
    return [loss];
  },
};
