// Flatten: merges axes axis..end_axis (defaults 1 and -1) into one: [N, C, H, W] -> [N, C*H*W].
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, count, refuseInPlace } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

export const flatten: LayerDef = {
  type: 'Flatten',
  param: 'flatten_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    refuseInPlace(ctx);
    const input = ctx.inputs[0];
    const { start, end } = span(ctx);
    return [[...input.slice(0, start), count(input, start, end + 1), ...input.slice(end + 1)]];
  },
  toOnnx(ctx) {
    const input = ctx.inputs[0];
    const out = ctx.outputs[0];
    const { start, end } = span(ctx);
    if (out.length === input.length && out.every((d, i) => d === input[i])) {
      ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
    } else if (start === 1 && end === input.length - 1) {
      ctx.g.node('Flatten', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { axis: 1 } });
    } else {
      // The axes before the span are copied (0, so a symbolic batch stays symbolic), the span is inferred
      // (it holds the batch when it starts at axis 0), the axes after it are never the batch.
      const shape = ctx.dynamicBatch ? [...input.slice(0, start).map(() => 0), -1, ...input.slice(end + 1)] : out;
      ctx.g.node('Reshape', [ctx.x[0], ctx.g.int64(shape)], { outputs: ctx.y, name: ctx.name });
    }
  },
  gradient(ctx) {
    // The top's gradient seen in the bottom's shape (the same values in the same order).
    return { dx: [ctx.g.node('Reshape', [ctx.dy[0]!, ctx.g.int64(ctx.inputs[0])], { name: `${ctx.name}_dx` })] };
  },
};

/** The merged axes [start, end]; end = start - 1 (Caffe allows it) inserts an axis of size 1. */
function span(ctx: LayerContext): { start: number; end: number } {
  const p = ctx.param('flatten_param');
  const n = ctx.inputs[0].length;
  const start = canonicalAxis(p.num('axis'), n, 'flatten_param.axis');
  const end = canonicalAxis(p.num('end_axis'), n, 'flatten_param.end_axis');
  if (end + 1 < start) throw new CaffeToolError(`flatten_param.end_axis (axis ${end}) comes before flatten_param.axis (axis ${start})`);
  return { start, end };
}
