// Deconvolution (transposed convolution): out = s(in-1) + d(k-1)+1 - 2p per spatial axis;
// weights [C_in, num_output/group, k...] (in and out swapped against Convolution), bias [num_output].
import { CaffeToolError } from '../errors.js';
import { convAttrs, convGeometry, deconvOutSize } from './conv-geometry.js';
import { convWeightGrad, sharedWeightGrads } from './conv-grad.js';
import { count, formatShape } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

const geometry = (ctx: LayerContext) => convGeometry(ctx.param('convolution_param'), ctx.inputs[0]);

export const deconvolution: LayerDef = {
  type: 'Deconvolution',
  param: 'convolution_param',
  bottoms: [1, Infinity],
  tops: [1, Infinity],
  outputShapes(ctx) {
    if (ctx.tops.length !== ctx.inputs.length) {
      throw new CaffeToolError(`a Deconvolution layer needs one top per bottom (${ctx.inputs.length} bottoms, ${ctx.tops.length} tops)`);
    }
    const first = ctx.inputs[0];
    const other = ctx.inputs.find((s) => formatShape(s) !== formatShape(first));
    if (other) throw new CaffeToolError(`all bottoms must have the same shape (${formatShape(first)} and ${formatShape(other)})`);
    const g = geometry(ctx);
    const out = [...first.slice(0, g.axis), g.numOutput, ...first.slice(g.axis + 1).map((d, i) => deconvOutSize(d, g, i))];
    return ctx.inputs.map(() => [...out]);
  },
  blobs(ctx) {
    const g = geometry(ctx);
    const weight = { role: 'weight', shape: [ctx.inputs[0][g.axis], g.numOutput / g.group, ...g.kernel] };
    return g.biasTerm ? [weight, { role: 'bias', shape: [g.numOutput] }] : [weight];
  },
  // Each input value is spread over (num_output/group) x prod(kernel) outputs.
  macs(ctx) {
    const g = geometry(ctx);
    return ctx.inputs.reduce((sum, input) => sum + count(input) * (g.numOutput / g.group) * count(g.kernel), 0);
  },
  toOnnx(ctx) {
    const g = geometry(ctx);
    if (g.axis !== 1) throw new CaffeToolError(`convolution_param.axis ${g.axis}: ONNX convolves with the channels on axis 1`);
    // ONNX ConvTranspose keeps Caffe's weight layout [C_in, C_out/group, k...]; with symmetric pads and no
    // output_padding its output size is Caffe's s(in-1) + d(k-1)+1 - 2p.
    const w = ctx.weight(0);
    const b = g.biasTerm ? [ctx.weight(1)] : [];
    ctx.x.forEach((x, i) => {
      ctx.g.node('ConvTranspose', [x, w, ...b], { outputs: [ctx.y[i]], name: ctx.name, attrs: convAttrs(g) });
    });
  },
  gradient(ctx) {
    // The mirror of Convolution's: x is the convolution (same window) of y, so dx = Conv(dy, W) and dW is the
    // convolution weight gradient with y's gradient as the input and x as the output gradient.
    const g = geometry(ctx);
    return sharedWeightGrads(
      ctx,
      g.biasTerm,
      (dy, i) => ctx.g.node('Conv', [dy, ctx.weight(0)], { name: `${ctx.name}_dx${i}`, attrs: convAttrs(g) }),
      (x, dy, i) => convWeightGrad(ctx.g, `${ctx.name}_dW${i}`, dy, x, g, ctx.outputs[i], ctx.inputs[i]),
    );
  },
};
