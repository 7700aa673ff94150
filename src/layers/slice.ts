// Slice: cuts the bottom along slice_param.axis (default 1, or the legacy slice_dim) at the absolute offsets
// slice_point (one fewer than the tops), or into equal parts when no slice_point is given.
import type { AttrValue } from '../convert/onnx/graph.js';
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import { axisOrLegacyDim } from './legacy-axis.js';
import type { LayerContext, LayerDef } from './types.js';

export const slice: LayerDef = {
  type: 'Slice',
  param: 'slice_param',
  bottoms: [1, 1],
  tops: [1, Infinity],
  outputShapes(ctx) {
    const { axis, sizes } = sliceGeometry(ctx);
    return sizes.map((d) => ctx.inputs[0].map((x, i) => (i === axis ? d : x)));
  },
  toOnnx(ctx) {
    const { axis, sizes, points } = sliceGeometry(ctx);
    if (ctx.y.length === 1) {
      ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
      return;
    }
    if (!points) {
      // Equal parts: Split without sizes, which also follows a symbolic batch when the axis is 0.
      const attrs: Record<string, AttrValue> = ctx.g.opset >= 18 ? { axis, num_outputs: ctx.y.length } : { axis };
      ctx.g.node('Split', ctx.x, { outputs: ctx.y, name: ctx.name, attrs });
      return;
    }
    if (axis === 0 && ctx.dynamicBatch) {
      // Cut points on a symbolic batch: the last top takes whatever follows the last point.
      const starts = [0, ...points];
      ctx.y.forEach((y, i) => {
        const end = i < points.length ? points[i] : Number.MAX_SAFE_INTEGER;
        ctx.g.node('Slice', [ctx.x[0], ctx.g.int64([starts[i]]), ctx.g.int64([end]), ctx.g.int64([0])], { outputs: [y], name: ctx.name });
      });
      return;
    }
    ctx.g.node('Split', [ctx.x[0], ctx.g.int64(sizes)], { outputs: ctx.y, name: ctx.name, attrs: { axis } });
  },
  gradient(ctx) {
    // The tops' gradients joined along the axis; a top no gradient reaches contributes zeros (its diff in Caffe).
    const { axis } = sliceGeometry(ctx);
    const parts = ctx.dy.map((d, i) => d ?? zeros(ctx, ctx.outputs[i]));
    return { dx: [parts.length === 1 ? parts[0] : ctx.g.node('Concat', parts, { name: `${ctx.name}_dx`, attrs: { axis } })] };
  },
};

/** The slice axis, the size of each top along it, and the cut points when slice_point gives them. */
function sliceGeometry(ctx: LayerContext): { axis: number; sizes: number[]; points?: number[] } {
  const p = ctx.param('slice_param');
  const input = ctx.inputs[0];
  const axis = axisOrLegacyDim(p, input.length, 'slice_param', 'slice_dim');
  const size = input[axis];
  const tops = ctx.tops.length;
  const points = p.list('slice_point');
  let sizes: number[];
  if (points.length) {
    if (points.length !== tops - 1) {
      throw new CaffeToolError(`slice_param has ${points.length} slice_point values for ${tops} tops: give one fewer than the tops (${tops - 1})`);
    }
    if (tops > size) throw new CaffeToolError(`axis ${axis} has size ${size}: it cannot be cut into ${tops} tops`);
    sizes = [];
    let prev = 0;
    for (const pt of points) {
      if (pt <= prev) throw new CaffeToolError(`slice_point values must be strictly increasing and positive (absolute offsets): ${pt} after ${prev}`);
      sizes.push(pt - prev);
      prev = pt;
    }
    if (prev >= size) throw new CaffeToolError(`slice_point ${prev} is not inside axis ${axis} (size ${size}): the last top would be empty`);
    sizes.push(size - prev);
  } else {
    if (size % tops !== 0) {
      throw new CaffeToolError(`without slice_point the ${tops} tops split axis ${axis} equally, but its size ${size} does not divide by ${tops}`);
    }
    sizes = Array<number>(tops).fill(size / tops);
  }
  return { axis, sizes, points: points.length ? points : undefined };
}
