// Normalize (SSD): L2-normalizes each position across channels (or each item across everything with
// across_spatial) and multiplies by a learned scale: one value (a 0-axis blob) if channel_shared, else [C].
import { CaffeToolError } from '../errors.js';
import { forkParam } from './fork-param.js';
import { legacyShape } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

function channels(ctx: LayerContext): number {
  const input = ctx.inputs[0];
  if (input.length < 2) throw new CaffeToolError(`Normalize needs an input with at least 2 axes (N, C, ...), got ${input.length}`);
  return legacyShape(input, 'Normalize')[1];
}

export const normalize: LayerDef = {
  type: 'Normalize',
  param: 'norm_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    channels(ctx);
    return [[...ctx.inputs[0]]];
  },
  blobs(ctx) {
    const c = channels(ctx);
    // SSD creates the shared scale as Blob(vector<int>(0)): no axes, one value.
    return [{ role: 'scale', shape: forkParam(ctx, 'norm_param', ['ssd', 'nvcaffe']).bool('channel_shared') ? [] : [c] }];
  },
  toOnnx(ctx) {
    const p = forkParam(ctx, 'norm_param', ['ssd', 'nvcaffe']);
    const c = channels(ctx);
    const rank = ctx.inputs[0].length;
    const across = p.bool('across_spatial');
    // The norm is sqrt(sum of squares + eps), eps inside the root: over all of C, H, W per item (across_spatial)
    // or over C per position. Caffe multiplies by the norm's reciprocal in the first case and divides in the second.
    const axes = across ? Array.from({ length: rank - 1 }, (_, i) => i + 1) : [1];
    const sumSq = ctx.g.opset >= 18
      ? ctx.g.node('ReduceSumSquare', [ctx.x[0], ctx.g.int64(axes)], { name: `${ctx.name}_sumsq`, attrs: { keepdims: 1 } })
      : ctx.g.node('ReduceSumSquare', [ctx.x[0]], { name: `${ctx.name}_sumsq`, attrs: { axes, keepdims: 1 } });
    const eps = ctx.g.float32([Math.fround(p.num('eps'))], []);
    const norm = ctx.g.node('Sqrt', [ctx.g.node('Add', [sumSq, eps], { name: `${ctx.name}_eps` })], { name: `${ctx.name}_norm` });
    const normalized = across
      ? ctx.g.node('Mul', [ctx.x[0], ctx.g.node('Reciprocal', [norm], { name: `${ctx.name}_inverse` })], { name: `${ctx.name}_normalize` })
      : ctx.g.node('Div', [ctx.x[0], norm], { name: `${ctx.name}_normalize` });
    const shared = ctx.learned[0].shape.length === 0;
    const scale = ctx.weight(0, shared ? [] : [c, ...Array(Math.max(rank - 2, 0)).fill(1)]);
    ctx.g.node('Mul', [normalized, scale], { outputs: ctx.y, name: ctx.name });
  },
};
