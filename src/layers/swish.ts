// Swish: y = x sigmoid(beta x), element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const swish: LayerDef = {
  type: 'Swish',
  param: 'swish_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
};
