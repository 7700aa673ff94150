// MVN: subtracts the mean (and divides by the standard deviation) over H x W, or C x H x W with across_channels.
// Caffe shapes the top with the legacy 4-D accessors: [N, C, H, W], missing axes as 1 (a [N, C] input gives [N, C, 1, 1]).
import { legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const mvn: LayerDef = {
  type: 'MVN',
  param: 'mvn_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    return [legacyShape(ctx.inputs[0], 'MVN')];
  },
};
