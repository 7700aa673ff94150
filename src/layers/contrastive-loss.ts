// ContrastiveLoss (siamese nets): features a and b (N x C x 1 x 1) and a similarity label (N x 1 x 1 x 1); the
// loss top is a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { lossTop } from './loss-layer.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const contrastiveLoss: LayerDef = {
  type: 'ContrastiveLoss',
  trainingOnly: true,
  param: 'contrastive_loss_param',
  bottoms: [3, 3],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const [a, b, sim] = ctx.inputs.map((s) => legacyShape(s, 'ContrastiveLoss'));
    const name = (i: number) => `'${ctx.bottoms[i]}' (${formatShape(ctx.inputs[i])})`;
    if (a[1] !== b[1]) throw new CaffeToolError(`the two features ${name(0)} and ${name(1)} must have the same channels, got ${a[1]} and ${b[1]}`);
    for (const i of [0, 1]) {
      const [, , h, w] = i === 0 ? a : b;
      if (h !== 1 || w !== 1) throw new CaffeToolError(`the feature ${name(i)} must be N x C (x 1 x 1): height and width must be 1`);
    }
    if (sim[1] !== 1 || sim[2] !== 1 || sim[3] !== 1) {
      throw new CaffeToolError(`the similarity label ${name(2)} must hold one value per pair (N, or N x 1 x 1 x 1)`);
    }
    return [lossTop(ctx)];
  },
};
