// ReLU (with negative_slope it is a leaky ReLU): element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const relu: LayerDef = {
  type: 'ReLU',
  param: 'relu_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
};
