// InnerProduct: flattens the input from `axis` (default 1) into K and computes num_output values.
// Weights [num_output, K], or [K, num_output] with transpose: true; bias [num_output].
import { canonicalAxis, count } from './shape.js';
import type { Gradients, LayerContext, LayerDef } from './types.js';

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
    // Axes before `axis` are kept: back from [outer, num_output] to input[0:axis] + [num_output] ([num_output] for axis 0).
    const gemm = ctx.g.node('Gemm', [flat, w, ...b], { name: ctx.name, attrs: { transB: g.transpose ? 0 : 1 } });
    const shape = [...input.slice(0, g.axis), g.n];
    // A symbolic batch: -1 (Reshape's 0 would copy the Gemm's first axis, N x the axes before `axis`).
    if (ctx.dynamicBatch && g.axis > 0) shape[0] = -1;
    ctx.g.node('Reshape', [gemm, ctx.g.int64(shape)], { outputs: [ctx.y[0]], name: `${ctx.name}_reshape` });
  },
  gradient(ctx) {
    // Over the flattened [M, K] input and [M, N] output: dx = dy W, dW = dy^T x (x^T dy when transposed), db = sum dy.
    const g = geometry(ctx);
    const input = ctx.inputs[0];
    const m = count(input, 0, g.axis);
    const flat = (v: string, cols: number, what: string) => ctx.g.node('Reshape', [v, ctx.g.int64([m, cols])], { name: `${ctx.name}_${what}_2d` });
    const dy = flat(ctx.dy[0]!, g.n, 'dy');
    const out: Gradients = { dx: [], dw: [] };
    if (ctx.needDx[0]) {
      const dx = ctx.g.node('Gemm', [dy, ctx.weight(0)], { name: `${ctx.name}_dx`, attrs: { transB: g.transpose ? 1 : 0 } });
      out.dx![0] = ctx.g.node('Reshape', [dx, ctx.g.int64(input)], { name: `${ctx.name}_dx_shape` });
    }
    if (ctx.needDw[0]) {
      const x = flat(ctx.x[0], g.k, 'x');
      out.dw![0] = g.transpose
        ? ctx.g.node('Gemm', [x, dy], { name: `${ctx.name}_dW`, attrs: { transA: 1 } })
        : ctx.g.node('Gemm', [dy, x], { name: `${ctx.name}_dW`, attrs: { transA: 1 } });
    }
    if (g.bias && ctx.needDw[1]) out.dw![1] = ctx.g.node('ReduceSum', [dy, ctx.g.int64([0])], { name: `${ctx.name}_db`, attrs: { keepdims: 0 } });
    return out;
  },
};
