// SegAccuracy (DeepLab v2, PSPNet): pixel accuracy, mean class recall and mean IoU of N x C x H x W scores against
// N x 1 x H x W labels, from a confusion matrix; top [1, 1, 1, 3].
import { CaffeToolError } from '../errors.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const segAccuracy: LayerDef = {
  type: 'SegAccuracy',
  trainingOnly: true,
  param: 'seg_accuracy_param',
  bottoms: [2, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const [scores, label] = ctx.inputs.map((s) => legacyShape(s, 'SegAccuracy'));
    const both = `the scores '${ctx.bottoms[0]}' (${formatShape(ctx.inputs[0])}) and the label '${ctx.bottoms[1]}' (${formatShape(ctx.inputs[1])})`;
    if (scores[0] !== label[0]) throw new CaffeToolError(`${both} must have the same number of images, got ${scores[0]} and ${label[0]}`);
    if (label[1] !== 1) throw new CaffeToolError(`the label '${ctx.bottoms[1]}' (${formatShape(ctx.inputs[1])}) must have one channel, got ${label[1]}`);
    if (scores[2] !== label[2] || scores[3] !== label[3]) {
      throw new CaffeToolError(`${both} must have the same height and width, got ${scores[2]}x${scores[3]} and ${label[2]}x${label[3]}`);
    }
    return [[1, 1, 1, 3]];
  },
};
