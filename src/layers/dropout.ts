// Dropout: zeroes a dropout_ratio share of the values while training (scaling the rest), identity at test; same shape.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

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
    if (ctx.train && ctx.phase === 'TRAIN') {
      // Caffe keeps a value where its uniform draw is above the ratio (the GPU kernel's rand > ratio * UINT_MAX) and
      // scales the kept ones by 1 / (1 - ratio), computed in float; the mask, scale included, serves the backward.
      const ratio = Math.fround(p.num('dropout_ratio'));
      const keep = ctx.g.node('Greater', [ctx.train.random(ctx.inputs[0]), ctx.g.float32([ratio], [])], { name: `${ctx.name}_keep` });
      const scale = scaleTrain(ctx) ? Math.fround(1 / (1 - ratio)) : 1;
      const mask = ctx.g.node('Where', [keep, ctx.g.float32([scale], []), ctx.g.float32([0], [])], { name: `${ctx.name}_mask` });
      ctx.train.save('mask', mask);
      ctx.g.node('Mul', [ctx.x[0], mask], { outputs: ctx.y, name: ctx.name });
      return;
    }
    // Fast R-CNN's fork can train without the 1/(1 - ratio) scale (scale_train: false): then test scales by (1 - ratio).
    if (!scaleTrain(ctx)) {
      ctx.g.node('Mul', [ctx.x[0], ctx.g.float32([1 - p.num('dropout_ratio')], [])], { outputs: ctx.y, name: ctx.name });
    } else ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // The same mask as the forward at TRAIN; at TEST the forward's constant factor (or none).
    const dy = ctx.dy[0]!;
    if (ctx.phase === 'TRAIN') return { dx: [ctx.g.node('Mul', [dy, ctx.saved('mask')], { name: `${ctx.name}_dx` })] };
    if (scaleTrain(ctx)) return { dx: [dy] };
    return { dx: [ctx.g.node('Mul', [dy, ctx.g.float32([1 - ctx.param('dropout_param').num('dropout_ratio')], [])], { name: `${ctx.name}_dx` })] };
  },
};

/** False only for Fast R-CNN's scale_train: false (the scale moves from training to test). */
function scaleTrain(ctx: LayerContext): boolean {
  const p = ctx.param('dropout_param');
  return !(p.info.byName.has('scale_train') && !p.bool('scale_train'));
}
