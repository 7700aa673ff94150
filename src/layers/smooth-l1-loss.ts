// SmoothL1Loss (Fast R-CNN): smooth L1 of the difference of its first two inputs, optionally multiplied by inside
// (bottom 2) and outside (bottom 3) weights of the same shape; the loss top is a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { lossTop } from './loss-layer.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const smoothL1Loss: LayerDef = {
  type: 'SmoothL1Loss',
  trainingOnly: true,
  param: 'smooth_l1_loss_param',
  bottoms: [2, 4],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    if (ctx.inputs.length === 3) {
      throw new CaffeToolError('with weights, SmoothL1Loss needs both the inside and the outside weights (4 bottoms), not 3');
    }
    const loss = lossTop(ctx);
    const shapes = ctx.inputs.map((s) => legacyShape(s, 'SmoothL1Loss'));
    for (let i = 1; i < shapes.length; i++) {
      if ([1, 2, 3].some((k) => shapes[i][k] !== shapes[0][k])) {
        throw new CaffeToolError(
          `'${ctx.bottoms[i]}' (${formatShape(ctx.inputs[i])}) must match the predictions '${ctx.bottoms[0]}' (${formatShape(ctx.inputs[0])}) in channels, height and width`,
        );
      }
    }
    return [loss];
  },
};
