// Convolution: weights [num_output, C/group, k...], bias [num_output].
import { convAttrs, convGeometry, convOutSize } from './conv-geometry.js';
import { blockedConv } from './conv-blocked.js';
import { convDataGrad, convWeightGrad, sharedWeightGrads } from './conv-grad.js';
import { count } from './shape.js';
import type { LayerDef } from './types.js';
import { CaffeToolError } from '../errors.js';

export const convolution: LayerDef = {
  type: 'Convolution',
  param: 'convolution_param',
  bottoms: [1, Infinity],
  tops: [1, Infinity],
  outputShapes(ctx) {
    return ctx.inputs.map((input) => {
      const g = convGeometry(ctx.param('convolution_param'), input);
      return [...input.slice(0, g.axis), g.numOutput, ...input.slice(g.axis + 1).map((d, i) => convOutSize(d, g, i))];
    });
  },
  blobs(ctx) {
    const g = convGeometry(ctx.param('convolution_param'), ctx.inputs[0]);
    const weight = { role: 'weight', shape: [g.numOutput, ctx.inputs[0][g.axis] / g.group, ...g.kernel] };
    return g.biasTerm ? [weight, { role: 'bias', shape: [g.numOutput] }] : [weight];
  },
  macs(ctx, outputs) {
    const g = convGeometry(ctx.param('convolution_param'), ctx.inputs[0]);
    const perOutput = (ctx.inputs[0][g.axis] / g.group) * count(g.kernel);
    return outputs.reduce((sum, out) => sum + count(out) * perOutput, 0);
  },
  toOnnx(ctx) {
    const g = convGeometry(ctx.param('convolution_param'), ctx.inputs[0]);
    if (g.axis !== 1) throw new CaffeToolError(`convolution_param.axis ${g.axis}: ONNX convolves with the channels on axis 1`);
    const w = ctx.weight(0);
    const b = g.biasTerm ? [ctx.weight(1)] : [];
    ctx.x.forEach((x, i) => {
      blockedConv(ctx.g, ctx.name, x, w, b, convAttrs(g), ctx.inputs[i][1], g.numOutput, ctx.train?.nchwcBlock, ctx.y[i]);
    });
  },
  gradient(ctx) {
    const g = convGeometry(ctx.param('convolution_param'), ctx.inputs[0]);
    return sharedWeightGrads(
      ctx,
      g.biasTerm,
      (dy, i) => convDataGrad(ctx.g, `${ctx.name}_dx${i}`, dy, ctx.weight(0), g, ctx.inputs[i], ctx.outputs[i], { nchwcBlock: ctx.train.nchwcBlock, cpu: ctx.cpu !== false }),
      (x, dy, i) => convWeightGrad(ctx.g, `${ctx.name}_dW${i}`, x, dy, g, ctx.inputs[i], ctx.outputs[i]),
    );
  },
};
