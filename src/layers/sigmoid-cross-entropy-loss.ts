// SigmoidCrossEntropyLoss: the cross-entropy of sigmoid(scores) against targets of the same count; the loss top is
// a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { lossTop } from './loss-layer.js';
import { count, formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const sigmoidCrossEntropyLoss: LayerDef = {
  type: 'SigmoidCrossEntropyLoss',
  trainingOnly: true,
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const loss = lossTop(ctx);
    const [scores, targets] = ctx.inputs;
    if (count(scores) !== count(targets)) {
      throw new CaffeToolError(
        `the scores '${ctx.bottoms[0]}' (${formatShape(scores)}) and the targets '${ctx.bottoms[1]}' (${formatShape(targets)}) must have the same count, got ${count(scores)} and ${count(targets)}`,
      );
    }
    return [loss];
  },
};
