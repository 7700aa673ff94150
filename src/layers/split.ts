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
  gradient(ctx) {
    // The sum of the gradients reaching the tops (Caffe's SplitLayer adds the top diffs).
    const reaching = ctx.dy.filter((d): d is string => d !== undefined);
    return { dx: [reaching.length === 1 ? reaching[0] : ctx.g.node('Sum', reaching, { name: `${ctx.name}_dx` })] };
  },
};
