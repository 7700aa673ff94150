// Silence: consumes its bottoms so they are not reported as net outputs; it has no tops.
import type { LayerDef } from './types.js';

export const silence: LayerDef = {
  type: 'Silence',
  bottoms: [1, Infinity],
  tops: [0, 0],
  outputShapes: () => [],
  // Nothing to compute: the blobs it reads are consumed, so the export does not make them outputs.
  toOnnx() {},
};
