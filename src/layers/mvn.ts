// MVN: subtracts the mean (and divides by the standard deviation) over H x W, or C x H x W with across_channels.
// Caffe shapes the top with the legacy 4-D accessors: [N, C, H, W], missing axes as 1 (a [N, C] input gives [N, C, 1, 1]).
import { reduceMean, reduceMeanSquare } from './batch-norm.js';
import { legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const mvn: LayerDef = {
  type: 'MVN',
  param: 'mvn_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    return [legacyShape(ctx.inputs[0], 'MVN')];
  },
  toOnnx(ctx) {
    const p = ctx.param('mvn_param');
    const rank = ctx.inputs[0].length;
    // Work on the legacy 4-D view: trailing axes of size 1 added.
    let x = ctx.x[0];
    if (rank < 4) x = ctx.g.node('Unsqueeze', [x, ctx.g.int64(range(rank, 4))], { name: `${ctx.name}_4d` });
    const axes = p.bool('across_channels') ? [1, 2, 3] : [2, 3];
    const normalize = p.bool('normalize_variance');
    const centred = ctx.g.node('Sub', [x, reduceMean(ctx, x, axes, 'mean')], normalize ? { name: `${ctx.name}_centre` } : { outputs: ctx.y, name: ctx.name });
    if (!normalize) return;
    // Caffe: (x - E x) / (sqrt(E (x - E x)^2) + eps), eps outside the square root.
    const variance = reduceMeanSquare(ctx, centred, [...ctx.inputs[0], 1, 1, 1].slice(0, 4), axes, 'variance');
    const std = ctx.g.node('Sqrt', [variance], { name: `${ctx.name}_std` });
    const denominator = ctx.g.node('Add', [std, ctx.g.float32([p.num('eps')], [])], { name: `${ctx.name}_eps` });
    ctx.train?.save('denominator', denominator);
    ctx.g.node('Div', [centred, denominator], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe's backward over the same axes: dy - E dy, and with normalize_variance
    // (dy - E dy - y E(y dy)) / (std + eps) — the exact derivative only up to eps, as Caffe computes it.
    const p = ctx.param('mvn_param');
    const axes = p.bool('across_channels') ? [1, 2, 3] : [2, 3];
    const dy = ctx.dy[0]!;
    let dx = ctx.g.node('Sub', [dy, reduceMean(ctx, dy, axes, 'mean_dy')], { name: `${ctx.name}_dy_centred` });
    if (p.bool('normalize_variance')) {
      const y = ctx.y[0];
      const meanYDy = reduceMean(ctx, ctx.g.node('Mul', [y, dy], { name: `${ctx.name}_y_dy` }), axes, 'mean_y_dy');
      dx = ctx.g.node('Sub', [dx, ctx.g.node('Mul', [y, meanYDy], { name: `${ctx.name}_y_mean_y_dy` })], { name: `${ctx.name}_dx_numerator` });
      dx = ctx.g.node('Div', [dx, ctx.saved('denominator')], { name: `${ctx.name}_dx_4d` });
    }
    const input = ctx.inputs[0];
    return { dx: [input.length === 4 ? dx : ctx.g.node('Reshape', [dx, ctx.g.int64(input)], { name: `${ctx.name}_dx` })] };
  },
};

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

