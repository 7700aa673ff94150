// Power: y = (shift + scale x)^power, element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const power: LayerDef = {
  type: 'Power',
  param: 'power_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
};
