// Swish: y = x sigmoid(beta x), element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const swish: LayerDef = {
  type: 'Swish',
  param: 'swish_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    const beta = ctx.param('swish_param').num('beta');
    const [x] = ctx.x;
    const scaled = beta === 1 ? x : ctx.g.node('Mul', [x, ctx.g.float32([beta], [])], { name: `${ctx.name}_beta` });
    const gate = ctx.g.node('Sigmoid', [scaled], { name: `${ctx.name}_sigmoid` });
    ctx.g.node('Mul', [x, gate], { outputs: ctx.y, name: ctx.name });
  },
};
