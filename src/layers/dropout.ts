// Dropout: zeroes a dropout_ratio share of the values while training (scaling the rest), identity at test; same shape.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const dropout: LayerDef = {
  type: 'Dropout',
  param: 'dropout_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const ratio = ctx.param('dropout_param').num('dropout_ratio');
    // Caffe only DCHECKs this (debug builds); a ratio of 1 makes its training scale 1/(1 - ratio) infinite.
    if (!(ratio >= 0 && ratio < 1)) throw new CaffeToolError(`dropout_param.dropout_ratio must be in [0, 1), got ${ratio}`);
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    const p = ctx.param('dropout_param');
    // Fast R-CNN's fork can train without the 1/(1 - ratio) scale (scale_train: false): then test scales by (1 - ratio).
    if (p.info.byName.has('scale_train') && !p.bool('scale_train')) {
      ctx.g.node('Mul', [ctx.x[0], ctx.g.float32([1 - p.num('dropout_ratio')], [])], { outputs: ctx.y, name: ctx.name });
    } else ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
  },
};
