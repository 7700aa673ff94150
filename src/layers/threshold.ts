// Threshold: y = 1 if x > threshold else 0, element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const threshold: LayerDef = {
  type: 'Threshold',
  param: 'threshold_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    // Strictly greater: a value equal to the threshold gives 0.
    const above = ctx.g.node('Greater', [ctx.x[0], ctx.g.float32([ctx.param('threshold_param').num('threshold')], [])], { name: `${ctx.name}_greater` });
    ctx.g.node('Cast', [above], { outputs: ctx.y, name: ctx.name, attrs: { to: 1 } });
  },
};
