// HingeLoss: the one-vs-all hinge (L1 or L2, hinge_loss_param.norm) of N x K scores against N integer labels;
// the loss top is a scalar (shape []).
import { lossTop } from './loss-layer.js';
import type { LayerDef } from './types.js';

export const hingeLoss: LayerDef = {
  type: 'HingeLoss',
  trainingOnly: true,
  param: 'hinge_loss_param',
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes: (ctx) => [lossTop(ctx)],
};
