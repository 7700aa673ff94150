// LRN (local response normalization), across channels or within each channel's plane: same shape as the input.
import { CaffeToolError } from '../errors.js';
import { float } from '../convert/onnx/graph.js';
import { sameAsInput } from './shape.js';
import type { LayerDef, OnnxContext } from './types.js';

export const lrn: LayerDef = {
  type: 'LRN',
  param: 'lrn_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const size = ctx.param('lrn_param').num('local_size');
    if (size % 2 !== 1) throw new CaffeToolError(`lrn_param.local_size must be odd (Caffe centres the window on each element), got ${size}`);
    // Caffe's Reshape checks for 4 axes in both ACROSS_CHANNELS and WITHIN_CHANNEL modes.
    if (ctx.inputs[0].length !== 4) throw new CaffeToolError(`LRN needs a 4-D input (N, C, H, W), got ${ctx.inputs[0].length}-D`);
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    const p = ctx.param('lrn_param');
    const [size, alpha, beta, k] = [p.num('local_size'), p.num('alpha'), p.num('beta'), p.num('k')];
    if (ctx.train) {
      // Training keeps the scale s and s^-beta for the backward: y = x s^-beta with s = k + alpha * mean(x^2) over
      // the window (ACROSS_CHANNELS, Caffe's alpha/n times the sum) or 1 + alpha * mean (WITHIN_CHANNEL).
      const within = p.str('norm_region') === 'WITHIN_CHANNEL';
      const mean = windowMean(ctx, ctx.g.node('Mul', [ctx.x[0], ctx.x[0]], { name: `${ctx.name}_square` }), 'square');
      const scaled = ctx.g.node('Mul', [mean, ctx.g.float32([alpha], [])], { name: `${ctx.name}_alpha` });
      const scale = ctx.g.node('Add', [scaled, ctx.g.float32([within ? 1 : k], [])], { name: `${ctx.name}_scale` });
      const factor = ctx.g.node('Pow', [scale, ctx.g.float32([-beta], [])], { name: `${ctx.name}_power` });
      ctx.train.save('scale', scale);
      ctx.train.save('factor', factor);
      ctx.g.node('Mul', [ctx.x[0], factor], { outputs: ctx.y, name: ctx.name });
      return;
    }
    if (p.str('norm_region') !== 'WITHIN_CHANNEL') {
      // x (k + alpha/n sum of x^2 over the n channels around)^-beta, zero beyond the edges: ONNX's LRN exactly.
      ctx.g.node('LRN', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { size, alpha: float(alpha), beta: float(beta), bias: float(k) } });
      return;
    }
    // WITHIN_CHANNEL: Caffe chains its own layers: x^2, an AVE pool (n x n, pad (n-1)/2, stride 1: every window lies
    // inside the padded plane, so the divisor is always n^2, padding included), then (1 + alpha avg)^-beta times x.
    // k plays no part.
    const [x] = ctx.x;
    const pad = (size - 1) / 2;
    const squares = ctx.g.node('Mul', [x, x], { name: `${ctx.name}_square` });
    const avg = ctx.g.node('AveragePool', [squares], {
      name: `${ctx.name}_pool`,
      attrs: { kernel_shape: [size, size], strides: [1, 1], pads: [pad, pad, pad, pad], count_include_pad: 1 },
    });
    const scaled = alpha === 1 ? avg : ctx.g.node('Mul', [avg, ctx.g.float32([alpha], [])], { name: `${ctx.name}_alpha` });
    const base = ctx.g.node('Add', [scaled, ctx.g.float32([1], [])], { name: `${ctx.name}_shift` });
    const factor = ctx.g.node('Pow', [base, ctx.g.float32([-beta], [])], { name: `${ctx.name}_power` });
    ctx.g.node('Mul', [x, factor], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // Caffe's CrossChannelBackward: dx = dy s^-beta - (2 alpha beta / n) x sum_window(dy y / s). WITHIN_CHANNEL is
    // Caffe's chain of layers, whose backward is the same with the plane window: the window mean (a box with zero
    // padding, stride 1) is its own adjoint.
    const p = ctx.param('lrn_param');
    const [alpha, beta] = [p.num('alpha'), p.num('beta')];
    const dy = ctx.dy[0]!;
    const ratio = ctx.g.node('Div', [ctx.g.node('Mul', [dy, ctx.y[0]], { name: `${ctx.name}_dy_y` }), ctx.saved('scale')], { name: `${ctx.name}_ratio` });
    const spread = ctx.g.node('Mul', [windowMean(ctx, ratio, 'ratio'), ctx.g.float32([2 * alpha * beta], [])], { name: `${ctx.name}_ratio_scaled` });
    const direct = ctx.g.node('Mul', [dy, ctx.saved('factor')], { name: `${ctx.name}_dx_direct` });
    const through = ctx.g.node('Mul', [ctx.x[0], spread], { name: `${ctx.name}_dx_scale` });
    return { dx: [ctx.g.node('Sub', [direct, through], { name: `${ctx.name}_dx` })] };
  },
};

/** The mean of v over each element's LRN window (zero beyond the edges, always divided by the window's size). */
function windowMean(ctx: OnnxContext, v: string, what: string): string {
  const p = ctx.param('lrn_param');
  const size = p.num('local_size');
  const pad = (size - 1) / 2;
  const [n, c, h, w] = ctx.inputs[0];
  if (p.str('norm_region') === 'WITHIN_CHANNEL') {
    return ctx.g.node('AveragePool', [v], {
      name: `${ctx.name}_${what}_mean`,
      attrs: { kernel_shape: [size, size], strides: [1, 1], pads: [pad, pad, pad, pad], count_include_pad: 1 },
    });
  }
  // Across channels: the channels become the pooled axis of a one-channel image [N, 1, C, H*W].
  const planes = ctx.g.node('Reshape', [v, ctx.g.int64([n, 1, c, h * w])], { name: `${ctx.name}_${what}_channels` });
  const mean = ctx.g.node('AveragePool', [planes], {
    name: `${ctx.name}_${what}_mean`,
    attrs: { kernel_shape: [size, 1], strides: [1, 1], pads: [pad, 0, pad, 0], count_include_pad: 1 },
  });
  return ctx.g.node('Reshape', [mean, ctx.g.int64([n, c, h, w])], { name: `${ctx.name}_${what}_back` });
}
