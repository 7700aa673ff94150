// PReLU: y = x for x > 0, slope x otherwise, with one learned slope per channel (axis 1), or a single
// slope with channel_shared: true (Caffe makes that blob 0-D, shape [], not [1]). Same shape as the input.
import { CaffeToolError } from '../errors.js';
import { legacyShape, sameAsInput } from './shape.js';
import { reduceToSpan, sumOver } from './broadcast-grad.js';
import type { Gradients, LayerContext, LayerDef } from './types.js';

function channels(ctx: LayerContext): number {
  const input = ctx.inputs[0];
  if (input.length < 2) throw new CaffeToolError(`PReLU needs an input with at least 2 axes (N, C, ...), got ${input.length}-D`);
  return legacyShape(input, 'PReLU')[1];
}

export const prelu: LayerDef = {
  type: 'PReLU',
  param: 'prelu_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    channels(ctx);
    return sameAsInput(ctx);
  },
  blobs(ctx) {
    const shared = ctx.param('prelu_param').bool('channel_shared');
    return [{ role: 'slope', shape: shared ? [] : [channels(ctx)] }];
  },
  toOnnx(ctx) {
    // ONNX PRelu broadcasts the slope from the right: one per channel on axis 1 is [C, 1, ...] (one 1 per axis after
    // the channels); the shared slope is a scalar.
    const rank = ctx.inputs[0].length;
    const dims = ctx.learned[0].shape.length ? [channels(ctx), ...Array<number>(rank - 2).fill(1)] : [];
    const slope = ctx.weight(0, dims);
    ctx.g.node('PRelu', [ctx.x[0], slope], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe: dx = dy * ((x > 0) + slope * (x <= 0)); dslope = sum of dy * x where x <= 0, per channel (over the
    // batch and every axis after the channels) or over everything when the slope is shared.
    const rank = ctx.inputs[0].length;
    const shared = !ctx.learned[0].shape.length;
    const slope = ctx.weight(0, shared ? [] : [channels(ctx), ...Array<number>(rank - 2).fill(1)]);
    const dy = ctx.dy[0]!;
    const positive = ctx.g.node('Greater', [ctx.x[0], ctx.g.float32([0], [])], { name: `${ctx.name}_positive` });
    const out: Gradients = { dx: [], dw: [] };
    if (ctx.needDx[0]) out.dx![0] = ctx.g.node('Where', [positive, dy, ctx.g.node('Mul', [dy, slope], { name: `${ctx.name}_dy_slope` })], { name: `${ctx.name}_dx` });
    if (ctx.needDw[0]) {
      const dyx = ctx.g.node('Mul', [dy, ctx.x[0]], { name: `${ctx.name}_dy_x` });
      const below = ctx.g.node('Where', [positive, ctx.g.float32([0], []), dyx], { name: `${ctx.name}_dy_x_below` });
      out.dw![0] = shared
        ? sumOver(ctx, below, ctx.inputs[0].map((_, i) => i), false, 'dslope')
        : reduceToSpan(ctx, below, ctx.inputs[0], 1, 1, 'dslope');
    }
    return out;
  },
};
