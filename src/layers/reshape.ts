// Reshape: replaces axes [axis, axis + num_axes) of the bottom by reshape_param.shape, where 0 copies the
// bottom's dim at the same position and one -1 is inferred so that the element count stays the same.
import { CaffeToolError } from '../errors.js';
import { count, formatShape, refuseInPlace } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

export const reshape: LayerDef = {
  type: 'Reshape',
  param: 'reshape_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    refuseInPlace(ctx);
    return [reshapeGeometry(ctx).out];
  },
  toOnnx(ctx) {
    const input = ctx.inputs[0];
    const { start, end, dims, out } = reshapeGeometry(ctx);
    if (out.length === input.length && out.every((d, i) => d === input[i])) {
      ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
      return;
    }
    let shape = out;
    if (ctx.dynamicBatch) {
      if (end > 0) {
        // Caffe's own spec over the whole shape: the axes before the span copied with 0, the span's 0s at the
        // positions they copy from (ONNX copies by position, which lines up only in a full-length shape) and its
        // -1, the axes after the span (never the batch here) as they are.
        shape = [...input.slice(0, start).map(() => 0), ...dims, ...input.slice(end)];
      } else {
        // New axes in front of the batch (axis 0, num_axes 0): their product must be 1, so they are 1s, and the
        // batch, now at axis dims.length, is inferred.
        shape = out.map((d, i) => (i === dims.length ? -1 : d));
      }
    }
    ctx.g.node('Reshape', [ctx.x[0], ctx.g.int64(shape)], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // The top's gradient seen in the bottom's shape (the same values in the same order).
    return { dx: [ctx.g.node('Reshape', [ctx.dy[0]!, ctx.g.int64(ctx.inputs[0])], { name: `${ctx.name}_dx` })] };
  },
};

/** The replaced span [start, end) of the input's axes, the shape spec that replaces it, and the top shape. */
function reshapeGeometry(ctx: LayerContext): { start: number; end: number; dims: number[]; out: number[] } {
  const p = ctx.param('reshape_param');
  const input = ctx.inputs[0];
  const n = input.length;
  const dims = p.sub('shape').list('dim');
  const bad = dims.find((d) => d < -1);
  if (bad !== undefined) throw new CaffeToolError(`reshape_param.shape dim ${bad} is invalid: use a size, 0 to copy the input dim or -1 to infer it`);
  if (dims.filter((d) => d === -1).length > 1) throw new CaffeToolError('reshape_param.shape has more than one -1: at most one dim can be inferred');

  const axis = p.num('axis');
  // Unlike other axes, a negative axis here counts so that -1 means "after the last axis".
  const start = axis >= 0 ? axis : n + axis + 1;
  if (start < 0 || start > n) throw new CaffeToolError(`reshape_param.axis ${axis} is out of range for a ${n}-D input (valid: ${-n - 1} to ${n})`);
  const numAxes = p.num('num_axes');
  if (numAxes < -1) throw new CaffeToolError(`reshape_param.num_axes must be >= 0, or -1 for all remaining axes, got ${numAxes}`);
  const end = numAxes === -1 ? n : start + numAxes;
  if (end > n) throw new CaffeToolError(`reshape_param.axis + num_axes = ${end} is beyond the ${n} axes of the input`);

  const out = [...input.slice(0, start), ...dims, ...input.slice(end)];
  dims.forEach((d, i) => {
    if (d !== 0) return;
    if (start + i >= n) throw new CaffeToolError(`reshape_param.shape dim ${i} is 0 (copy), but the input has no axis ${start + i} to copy`);
    out[start + i] = input[start + i];
  });
  const total = count(input);
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) {
    const known = out.reduce((a, d, i) => (i === start + inferred ? a : a * d), 1);
    if (total % known !== 0) {
      throw new CaffeToolError(`cannot infer the -1 dim: the input count ${total} does not divide by the product of the other dims (${known})`);
    }
    out[start + inferred] = total / known;
  }
  if (count(out) !== total) {
    throw new CaffeToolError(`the new shape ${formatShape(out)} has ${count(out)} elements but the input has ${total}: the count must stay the same`);
  }
  return { start, end, dims, out };
}
