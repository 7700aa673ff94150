// Crop: the first bottom cut to the size of the second on every axis from `axis` (default 2) on, starting at
// `offset` (one value for all cropped axes, or one per cropped axis; default 0).
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import { canonicalAxis } from './shape.js';
import type { LayerDef } from './types.js';

export const crop: LayerDef = {
  type: 'Crop',
  param: 'crop_param',
  bottoms: [2, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const [data, like] = ctx.inputs;
    const p = ctx.param('crop_param');
    const axis = canonicalAxis(p.num('axis'), data.length, 'crop_param.axis');
    const offsets = p.list('offset');
    if (offsets.length > 1 && axis + offsets.length !== data.length) {
      throw new CaffeToolError(
        `crop_param has ${offsets.length} offsets, but cropping from axis ${axis} of a ${data.length}-D input needs ${data.length - axis} (one per cropped axis) or a single one`,
      );
    }
    if (like.length < data.length) {
      throw new CaffeToolError(`the reference input (bottom 1) has ${like.length} axes, fewer than the ${data.length} of the data it crops`);
    }
    return [data.map((size, i) => {
      if (i < axis) return size;
      const offset = offsets.length === 0 ? 0 : offsets[offsets.length === 1 ? 0 : i - axis];
      if (offset + like[i] > size) {
        throw new CaffeToolError(`the crop on axis ${i} is out of bounds: offset ${offset} + size ${like[i]} exceeds the input's ${size}`);
      }
      return like[i];
    })];
  },
  toOnnx(ctx) {
    const [data] = ctx.inputs;
    const out = ctx.outputs[0];
    const p = ctx.param('crop_param');
    const axis = canonicalAxis(p.num('axis'), data.length, 'crop_param.axis');
    const offsets = p.list('offset');
    const offsetOf = (i: number) => (offsets.length === 0 ? 0 : offsets[offsets.length === 1 ? 0 : i - axis]);
    // A symbolic batch cropped (axis 0): its size is the reference's batch, read at run time.
    const batchFromLike = ctx.dynamicBatch && axis === 0;
    // Only the axes the crop changes, so that an axis it keeps needs no Slice at all.
    const axes = out.map((_, i) => i).filter((i) => i >= axis && ((i === 0 && batchFromLike) || offsetOf(i) !== 0 || out[i] !== data[i]));
    if (!axes.length) {
      ctx.g.node('Identity', [ctx.x[0]], { outputs: ctx.y, name: ctx.name });
      return;
    }
    const starts = ctx.g.int64(axes.map(offsetOf));
    let ends = ctx.g.int64(axes.map((i) => offsetOf(i) + out[i]));
    if (batchFromLike) {
      // Shape's start/end came with opset 15.
      const batch = ctx.g.opset >= 15
        ? ctx.g.node('Shape', [ctx.x[1]], { name: `${ctx.name}_batch`, attrs: { end: 1 } })
        : ctx.g.node('Slice', [ctx.g.node('Shape', [ctx.x[1]], { name: `${ctx.name}_shape` }), ctx.g.int64([0]), ctx.g.int64([1])], { name: `${ctx.name}_batch` });
      const end0 = offsetOf(0) === 0 ? batch : ctx.g.node('Add', [batch, ctx.g.int64([offsetOf(0)])], { name: `${ctx.name}_batch_end` });
      ends = axes.length === 1 ? end0 : ctx.g.node('Concat', [end0, ctx.g.int64(axes.slice(1).map((i) => offsetOf(i) + out[i]))], { name: `${ctx.name}_ends`, attrs: { axis: 0 } });
    }
    ctx.g.node('Slice', [ctx.x[0], starts, ends, ctx.g.int64(axes)], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // dy padded with zeros back to the data's shape at the offsets. The reference input gets no gradient
    // (Caffe's Backward_cpu writes bottom[0] only): zeros if one is asked for.
    const [data, like] = ctx.inputs;
    const out = ctx.outputs[0];
    const p = ctx.param('crop_param');
    const axis = canonicalAxis(p.num('axis'), data.length, 'crop_param.axis');
    const offsets = p.list('offset');
    const before = data.map((_, i) => (i < axis || offsets.length === 0 ? 0 : offsets[offsets.length === 1 ? 0 : i - axis]));
    const after = data.map((size, i) => size - before[i] - out[i]);
    const dy = ctx.dy[0]!;
    const dx = [...before, ...after].some((v) => v !== 0)
      ? ctx.g.node('Pad', [dy, ctx.g.int64([...before, ...after])], { name: `${ctx.name}_dx` })
      : dy;
    const dLike = ctx.needDx[1] ? zeros(ctx, like) : undefined;
    return { dx: [ctx.needDx[0] ? dx : undefined, dLike] };
  },
};
