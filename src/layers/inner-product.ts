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
};
