// Softmax along softmax_param.axis (default 1): same shape as the input.
import { sumOver } from './broadcast-grad.js';
import { canonicalAxis, sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const softmax: LayerDef = {
  type: 'Softmax',
  param: 'softmax_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    canonicalAxis(ctx.param('softmax_param').num('axis'), ctx.inputs[0].length, 'softmax_param.axis');
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    const axis = canonicalAxis(ctx.param('softmax_param').num('axis'), ctx.inputs[0].length, 'softmax_param.axis');
    ctx.g.node('Softmax', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { axis } });
  },
  gradient(ctx) {
    // Caffe: dx = (dy - sum over the axis of dy * y) * y.
    const axis = canonicalAxis(ctx.param('softmax_param').num('axis'), ctx.inputs[0].length, 'softmax_param.axis');
    const y = ctx.y[0];
    const dy = ctx.dy[0]!;
    const dot = sumOver(ctx, ctx.g.node('Mul', [dy, y], { name: `${ctx.name}_dy_y` }), [axis], true, 'dot');
    return { dx: [ctx.g.node('Mul', [ctx.g.node('Sub', [dy, dot], { name: `${ctx.name}_centred` }), y], { name: `${ctx.name}_dx` })] };
  },
};
