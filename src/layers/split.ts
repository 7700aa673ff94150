// Split: copies its bottom to every top (Caffe inserts it where one blob feeds several layers); same shape.
import { refuseInPlace, sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const split: LayerDef = {
  type: 'Split',
  bottoms: [1, 1],
  tops: [1, Infinity],
  outputShapes(ctx) {
    refuseInPlace(ctx);
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    // ONNX values can be read any number of times: each top is the bottom under its own name.
    ctx.y.forEach((y) => ctx.g.node('Identity', ctx.x, { outputs: [y], name: ctx.name }));
  },
};
