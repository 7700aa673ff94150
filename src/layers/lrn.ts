// LRN (local response normalization), across channels or within each channel's plane: same shape as the input.
import { CaffeToolError } from '../errors.js';
import { float } from '../convert/onnx/graph.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

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
};
