// EuclideanLoss: the sum of squared differences of its two inputs over 2N. Both inputs need the same first axis
// and the same count per item; the loss top is a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { lossTop } from './loss-layer.js';
import { count, formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const euclideanLoss: LayerDef = {
  type: 'EuclideanLoss',
  trainingOnly: true,
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const loss = lossTop(ctx);
    const [a, b] = ctx.inputs;
    if (count(a, 1) !== count(b, 1)) {
      throw new CaffeToolError(
        `'${ctx.bottoms[0]}' (${formatShape(a)}) and '${ctx.bottoms[1]}' (${formatShape(b)}) must have the same number of values per item: ${count(a, 1)} and ${count(b, 1)} after the first axis`,
      );
    }
    return [loss];
  },
  toOnnx(ctx) {
    // loss = sum((a - b)^2) / num / 2, num the first axis.
    const [a, b] = ctx.inputs;
    const bFlat = a.join(',') === b.join(',') ? ctx.x[1] : ctx.g.node('Reshape', [ctx.x[1], ctx.g.int64(a)], { name: `${ctx.name}_b_shape` });
    const diff = ctx.g.node('Sub', [ctx.x[0], bFlat], { name: `${ctx.name}_diff` });
    ctx.train?.save('diff', diff);
    const sum = ctx.g.node('ReduceSumSquare', [diff], { name: `${ctx.name}_sum`, attrs: { keepdims: 0 } });
    ctx.g.node('Mul', [sum, ctx.g.float32([1 / a[0] / 2], [])], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // d/da = dy * (a - b) / num; d/db = -d/da (reshaped to b's shape).
    const [a, b] = ctx.inputs;
    const scale = ctx.g.node('Mul', [ctx.dy[0]!, ctx.g.float32([1 / a[0]], [])], { name: `${ctx.name}_scale` });
    const da = ctx.g.node('Mul', [ctx.saved('diff'), scale], { name: `${ctx.name}_da` });
    const db = ctx.needDx[1] ? ctx.g.node('Reshape', [ctx.g.node('Neg', [da], { name: `${ctx.name}_db_neg` }), ctx.g.int64(b)], { name: `${ctx.name}_db` }) : undefined;
    return { dx: [ctx.needDx[0] ? da : undefined, db] };
  },
};
