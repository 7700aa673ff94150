// InnerProduct: flattens the input from `axis` (default 1) into K and computes num_output values.
// Weights [num_output, K], or [K, num_output] with transpose: true; bias [num_output].
import { canonicalAxis, count } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

function geometry(ctx: LayerContext) {
  const p = ctx.param('inner_product_param');
  const input = ctx.inputs[0];
  const axis = canonicalAxis(p.num('axis'), input.length, 'inner_product_param.axis');
  return { axis, k: count(input, axis), n: p.num('num_output'), transpose: p.bool('transpose'), bias: p.bool('bias_term') };
}

export const innerProduct: LayerDef = {
  type: 'InnerProduct',
  param: 'inner_product_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const g = geometry(ctx);
    return [[...ctx.inputs[0].slice(0, g.axis), g.n]];
  },
  blobs(ctx) {
    const g = geometry(ctx);
    const weight = { role: 'weight', shape: g.transpose ? [g.k, g.n] : [g.n, g.k] };
    return g.bias ? [weight, { role: 'bias', shape: [g.n] }] : [weight];
  },
  macs(ctx, outputs) {
    return count(outputs[0]) * geometry(ctx).k;
  },
  toOnnx(ctx) {
    const g = geometry(ctx);
    const w = ctx.weight(0);
    const b = g.bias ? [ctx.weight(1)] : [];
    const input = ctx.inputs[0];
    const flat = input.length === 2 && g.axis === 1 ? ctx.x[0] : ctx.g.node('Flatten', [ctx.x[0]], { attrs: { axis: g.axis }, name: `${ctx.name}_flatten` });
    if (g.axis === 1) {
      ctx.g.node('Gemm', [flat, w, ...b], { outputs: [ctx.y[0]], name: ctx.name, attrs: { transB: g.transpose ? 0 : 1 } });
      return;
    }
    // Axes before `axis` are kept: back from [outer, num_output] to input[0:axis] + [num_output].
    const gemm = ctx.g.node('Gemm', [flat, w, ...b], { name: ctx.name, attrs: { transB: g.transpose ? 0 : 1 } });
    const shape = [ctx.dynamicBatch ? 0 : input[0], ...input.slice(1, g.axis), g.n];
    ctx.g.node('Reshape', [gemm, ctx.g.int64(shape)], { outputs: [ctx.y[0]], name: `${ctx.name}_reshape` });
  },
};
