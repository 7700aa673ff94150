// Threshold: y = 1 if x > threshold else 0, element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const threshold: LayerDef = {
  type: 'Threshold',
  param: 'threshold_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
};
