// ArgMax: the indices (or with out_max_val, also the values) of the top_k largest values.
// With argmax_param.axis: the input shape with that axis set to top_k. Without: per item (flattened from
// axis 1) a top of max(num_axes, 3) axes, all 1 except [N, 1 (2 with out_max_val), top_k, ...].
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, count } from './shape.js';
import type { LayerDef, OnnxContext } from './types.js';

export const argMax: LayerDef = {
  type: 'ArgMax',
  param: 'argmax_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('argmax_param');
    const input = ctx.inputs[0];
    const k = p.num('top_k');
    if (k < 1) throw new CaffeToolError(`argmax_param.top_k must be at least 1, got ${k}`);
    if (p.has('axis')) {
      const axis = canonicalAxis(p.num('axis'), input.length, 'argmax_param.axis');
      if (k > input[axis]) throw new CaffeToolError(`argmax_param.top_k ${k} is larger than axis ${axis} (size ${input[axis]})`);
      const out = [...input];
      out[axis] = k;
      return [out];
    }
    if (input.length === 0) throw new CaffeToolError('ArgMax without argmax_param.axis needs an input with a batch axis, got a 0-D input');
    const perItem = count(input, 1);
    if (k > perItem) {
      throw new CaffeToolError(`argmax_param.top_k ${k} is larger than the ${perItem} values of each item (the input flattened from axis 1; set argmax_param.axis to pick one axis)`);
    }
    const out = Array<number>(Math.max(input.length, 3)).fill(1);
    out[0] = input[0];
    out[1] = p.bool('out_max_val') ? 2 : 1;
    out[2] = k;
    return [out];
  },
  toOnnx(ctx) {
    const p = ctx.param('argmax_param');
    const input = ctx.inputs[0];
    const k = p.num('top_k');
    const withValues = p.bool('out_max_val');
    const out = { outputs: ctx.y, name: ctx.name };
    if (p.has('axis')) {
      // Along one axis: the values (out_max_val) or the indices, in the input's layout with that axis k long.
      const axis = canonicalAxis(p.num('axis'), input.length, 'argmax_param.axis');
      if (withValues) topValues(ctx, ctx.x[0], axis, k, out);
      else ctx.g.node('Cast', [topIndices(ctx, ctx.x[0], axis, input[axis], k).indices], { ...out, attrs: { to: 1 } });
      return;
    }
    // Per item, over the values flattened from axis 1: [N, 1, k] indices, or [N, 2, k] indices then values,
    // padded with axes of size 1 up to the input's rank.
    const flat = input.length === 2 ? ctx.x[0] : ctx.g.node('Flatten', [ctx.x[0]], { name: `${ctx.name}_flatten`, attrs: { axis: 1 } });
    const top = topIndices(ctx, flat, 1, count(input, 1), k);
    const indices = ctx.g.node('Cast', [top.indices], { name: `${ctx.name}_float`, attrs: { to: 1 } });
    if (!withValues) {
      ctx.g.node('Reshape', [indices, ctx.g.int64([0, ...ctx.outputs[0].slice(1)])], out);
      return;
    }
    const values = top.values ?? topValues(ctx, flat, 1, k, { name: `${ctx.name}_values` });
    const rows = ctx.g.node('Concat', [indices, values], { name: `${ctx.name}_concat`, attrs: { axis: 1 } });
    ctx.g.node('Reshape', [rows, ctx.g.int64([0, ...ctx.outputs[0].slice(1)])], out);
  },
};

type Out = { outputs?: string[]; name: string };

/**
 * The indices of the k largest values along `axis`, as Caffe orders them: it sorts (value, index) pairs in
 * descending order, so among equal values the LAST index comes first. ONNX breaks ties the other way (lowest
 * index first), so ArgMax selects the last index, and TopK runs on the axis reversed (then i -> size - 1 - i).
 * With k > 1 the TopK's values come along (the k largest, largest first).
 */
function topIndices(ctx: OnnxContext, x: string, axis: number, size: number, k: number): { indices: string; values?: string } {
  // (ONNX Runtime's CUDA provider runs select_last_index on the CPU: a graph for it takes the TopK way.)
  if (k === 1 && ctx.cpu !== false) return { indices: ctx.g.node('ArgMax', [x], { name: `${ctx.name}_argmax`, attrs: { axis, keepdims: 1, select_last_index: 1 } }) };
  const reversed = ctx.g.node('Slice', [x, ctx.g.int64([-1]), ctx.g.int64([INT64_MIN]), ctx.g.int64([axis]), ctx.g.int64([-1])], { name: `${ctx.name}_reverse` });
  const [values, idx] = ctx.g.nodeN('TopK', [reversed, ctx.g.int64([k])], 2, { name: `${ctx.name}_topk`, attrs: { axis, largest: 1, sorted: 1 } });
  // The batch axis may be symbolic: then its size is read from the input.
  const last = axis === 0 && ctx.dynamicBatch
    ? ctx.g.node('Sub', [ctx.g.node('Slice', [ctx.g.node('Shape', [x], { name: `${ctx.name}_shape` }), ctx.g.int64([0]), ctx.g.int64([1])], { name: `${ctx.name}_batch` }), ctx.g.int64([1])], { name: `${ctx.name}_last` })
    : ctx.g.int64([size - 1], []);
  return { indices: ctx.g.node('Sub', [last, idx], { name: `${ctx.name}_unreverse` }), values };
}

/** The k largest values along `axis`, largest first (ties do not matter for values). */
function topValues(ctx: OnnxContext, x: string, axis: number, k: number, out: Out): string {
  if (k === 1) {
    if (ctx.g.opset >= 18) return ctx.g.node('ReduceMax', [x, ctx.g.int64([axis])], { ...out, attrs: { keepdims: 1 } });
    return ctx.g.node('ReduceMax', [x], { ...out, attrs: { axes: [axis], keepdims: 1 } });
  }
  const values = out.outputs?.[0] ?? ctx.g.unique(`${out.name}_out`);
  ctx.g.node('TopK', [x, ctx.g.int64([k])], { outputs: [values, ctx.g.unique(`${out.name}_indices`)], name: out.name, attrs: { axis, largest: 1, sorted: 1 } });
  return values;
}

/** Slice's "to the start" end for a negative step. */
const INT64_MIN = -(2 ** 63);
