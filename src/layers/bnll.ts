// BNLL (binomial normal log likelihood): y = log(1 + exp(x)), element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const bnll: LayerDef = {
  type: 'BNLL',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
};
