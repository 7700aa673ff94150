// Reduction: SUM, ASUM, SUMSQ or MEAN over all axes from reduction_param.axis (default 0) on; the top keeps
// only the axes before it (axis 0 gives a 0-D scalar, shape []).
import type { AttrValue } from '../convert/onnx/graph.js';
import { CaffeToolError } from '../errors.js';
import { canonicalAxis, count } from './shape.js';
import type { LayerDef } from './types.js';

export const reduction: LayerDef = {
  type: 'Reduction',
  param: 'reduction_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const input = ctx.inputs[0];
    const axis = canonicalAxis(ctx.param('reduction_param').num('axis'), input.length, 'reduction_param.axis');
    return [input.slice(0, axis)];
  },
  toOnnx(ctx) {
    const p = ctx.param('reduction_param');
    const input = ctx.inputs[0];
    const axis = canonicalAxis(p.num('axis'), input.length, 'reduction_param.axis');
    const op = p.str('operation');
    // Caffe computes MEAN as a sum times coeff / dim (in float), as it multiplies the other sums by coeff. When
    // the batch is symbolic and reduced too (axis 0), dim is only known at run time: ReduceMean, then coeff.
    const runtimeMean = op === 'MEAN' && axis === 0 && ctx.dynamicBatch;
    const onnxOp = runtimeMean ? 'ReduceMean' : ({ SUM: 'ReduceSum', ASUM: 'ReduceL1', SUMSQ: 'ReduceSumSquare', MEAN: 'ReduceSum' } as Record<string, string>)[op];
    if (!onnxOp) throw new CaffeToolError(`unknown reduction_param.operation ${op}`);
    const coeff = Math.fround(op === 'MEAN' && !runtimeMean ? Math.fround(p.num('coeff')) / count(input, axis) : p.num('coeff'));
    // All axes from `axis` on; the top keeps the ones before it (none: a 0-D scalar).
    const axes = Array.from({ length: input.length - axis }, (_, i) => axis + i);
    // Reductions take their axes as an input from opset 18 on (ReduceSum from 13), as an attribute before.
    const axesAsInput = onnxOp === 'ReduceSum' || ctx.g.opset >= 18;
    const inputs = axesAsInput ? [ctx.x[0], ctx.g.int64(axes)] : ctx.x;
    const attrs: Record<string, AttrValue> = axesAsInput ? { keepdims: 0 } : { axes, keepdims: 0 };
    // Caffe skips the scaling when the factor is 1.
    if (coeff === 1) {
      ctx.g.node(onnxOp, inputs, { outputs: ctx.y, name: ctx.name, attrs });
      return;
    }
    const sum = ctx.g.node(onnxOp, inputs, { name: ctx.name, attrs });
    ctx.g.node('Mul', [sum, ctx.g.float32([coeff], [])], { outputs: ctx.y, name: `${ctx.name}_coeff` });
  },
};
