// MultinomialLogisticLoss: -log of the probability each item gives its label, averaged over N; the label holds
// one value per item (N, or N x 1 x 1 x 1). The loss top is a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { lossTop } from './loss-layer.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const multinomialLogisticLoss: LayerDef = {
  type: 'MultinomialLogisticLoss',
  trainingOnly: true,
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const loss = lossTop(ctx);
    const [, c, h, w] = legacyShape(ctx.inputs[1], 'MultinomialLogisticLoss');
    if (c !== 1 || h !== 1 || w !== 1) {
      throw new CaffeToolError(`the label '${ctx.bottoms[1]}' must hold one value per item (N, or N x 1 x 1 x 1), got ${formatShape(ctx.inputs[1])}`);
    }
    return [loss];
  },
};
