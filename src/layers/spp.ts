// SPP (spatial pyramid pooling): level l pools the plane into about 2^l x 2^l bins with Caffe's own Pooling
// (kernel ceil(H/2^l), stride = kernel, pad (kernel*2^l - H + 1)/2), flattens and concatenates the levels:
// [N, C * sum of bins]. With pyramid_height 1 the single pooling output is the top itself: [N, C, 1, 1].
import { CaffeToolError } from '../errors.js';
import { type PoolGeometry, pooledSize, poolingGrad, poolingToOnnx } from './pooling.js';
import type { LayerContext, LayerDef, Shape } from './types.js';

/** One level's pooling window on one axis, as SPPLayer::GetPoolingParam computes it. */
function levelWindow(size: number, bins: number): { kernel: number; pad: number } {
  const kernel = Math.ceil(size / bins);
  return { kernel, pad: Math.floor((kernel * bins - size + 1) / 2) };
}

export const spp: LayerDef = {
  type: 'SPP',
  param: 'spp_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const input = ctx.inputs[0];
    if (input.length !== 4) throw new CaffeToolError(`SPP needs a 4-D input (N, C, H, W), got ${input.length}-D`);
    const p = ctx.param('spp_param');
    const height = p.num('pyramid_height');
    if (height < 1) throw new CaffeToolError('spp_param.pyramid_height must be given and at least 1');
    const method = p.str('pool');
    const [n, c, h, w] = input;
    const levels = Array.from({ length: height }, (_, l) => {
      const bins = 2 ** l;
      const [wh, ww] = [levelWindow(h, bins), levelWindow(w, bins)];
      // The internal Pooling layer's own checks, which small inputs and tall pyramids can trip.
      for (const [axis, win] of [['height', wh], ['width', ww]] as const) {
        if (win.pad >= win.kernel) {
          throw new CaffeToolError(
            `pyramid level ${l} (${bins} bins) on ${axis} ${axis === 'height' ? h : w} gives kernel ${win.kernel} with pad ${win.pad}, but Caffe's pooling needs pad < kernel: the input is too small for pyramid_height ${height}`,
          );
        }
        if (win.pad > 0 && method !== 'MAX' && method !== 'AVE') {
          throw new CaffeToolError(`pyramid level ${l} needs padding on ${axis}, which Caffe's pooling only implements for MAX and AVE, not ${method}`);
        }
      }
      const clip = wh.pad + ww.pad > 0;
      return [pooledSize(h, wh.kernel, wh.kernel, wh.pad, true, clip), pooledSize(w, ww.kernel, ww.kernel, ww.pad, true, clip)];
    });
    if (height === 1) return [[n, c, ...levels[0]]];
    return [[n, c * levels.reduce((sum, [ph, pw]) => sum + ph * pw, 0)]];
  },
  toOnnx(ctx) {
    const input = ctx.inputs[0];
    const levels = pyramid(ctx);
    if (levels.length === 1) {
      poolingToOnnx({ ...ctx, outputs: [levels[0].out] }, levels[0].g);
      return;
    }
    const flat = levels.map(({ g, out }, l) => {
      const name = `${ctx.name}_level${l}`;
      const pooled = ctx.g.unique(name);
      // In training each level keeps its own argmax.
      const train = ctx.train && { ...ctx.train, save: (key: string, value: string) => ctx.train!.save(`${key}${l}`, value) };
      poolingToOnnx({ g: ctx.g, name, x: ctx.x, y: [pooled], inputs: [input], outputs: [out], train, cpu: ctx.cpu }, g);
      return ctx.g.node('Flatten', [pooled], { attrs: { axis: 1 }, name: `${name}_flatten` });
    });
    ctx.g.node('Concat', flat, { outputs: ctx.y, attrs: { axis: 1 }, name: ctx.name });
  },
  gradient(ctx) {
    // Each level's slice of dy back through its pooling; the levels' gradients add up.
    const input = ctx.inputs[0];
    const levels = pyramid(ctx);
    const dy = ctx.dy[0]!;
    const max = levels[0].g.method === 'MAX';
    if (levels.length === 1) return { dx: [poolingGrad(ctx, levels[0].g, input, levels[0].out, dy, max ? ctx.saved('indices') : undefined)] };
    let at = 0;
    const parts = levels.map(({ g, out }, l) => {
      const size = out[1] * out[2] * out[3];
      const name = `${ctx.name}_level${l}`;
      const slice = ctx.g.node('Slice', [dy, ctx.g.int64([at]), ctx.g.int64([at + size]), ctx.g.int64([1])], { name: `${name}_dy` });
      at += size;
      const level = ctx.g.node('Reshape', [slice, ctx.g.int64(out)], { name: `${name}_dy_shape` });
      return poolingGrad({ g: ctx.g, name, cpu: ctx.cpu }, g, input, out, level, max ? ctx.saved(`indices${l}`) : undefined);
    });
    return { dx: [ctx.g.node('Sum', parts, { name: `${ctx.name}_dx` })] };
  },
};

/**
 * The pyramid's levels: each is Caffe's own Pooling (CEIL rounding, AVE divisor rules) with the level's window, as
 * SPPLayer sets it up; with more than one level the outputs are flattened and concatenated on axis 1.
 */
function pyramid(ctx: LayerContext): { g: PoolGeometry; out: Shape }[] {
  const p = ctx.param('spp_param');
  const [n, c, h, w] = ctx.inputs[0];
  return Array.from({ length: p.num('pyramid_height') }, (_, l) => {
    const bins = 2 ** l;
    const [wh, ww] = [levelWindow(h, bins), levelWindow(w, bins)];
    const g: PoolGeometry = { kernel: [wh.kernel, ww.kernel], stride: [wh.kernel, ww.kernel], pad: [wh.pad, ww.pad], global: false, method: p.str('pool'), ceil: true };
    const clip = wh.pad + ww.pad > 0;
    const out = [n, c, pooledSize(h, wh.kernel, wh.kernel, wh.pad, true, clip), pooledSize(w, ww.kernel, ww.kernel, ww.pad, true, clip)];
    return { g, out };
  });
}
