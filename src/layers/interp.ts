// Interp (DeepLab v2, PSPNet): bilinear resize (corners aligned) of a 4-D input after cropping it by
// -pad_beg/-pad_end. Output [N, C, H_out, W_out], the first rule that applies, in Caffe's order:
// shrink_factor only: (H_eff-1)/s + 1; zoom_factor only: H_eff + (H_eff-1)(z-1); height and width;
// both factors: shrink then zoom; else the size of a second bottom.
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import { forkParam } from './fork-param.js';
import { legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

const shrink = (size: number, s: number) => Math.trunc((size - 1) / s) + 1;
const zoom = (size: number, z: number) => size + (size - 1) * (z - 1);

export const interp: LayerDef = {
  type: 'Interp',
  param: 'interp_param',
  // Caffe checks no bottom count; a second bottom gives the size only when there are exactly two.
  bottoms: [1, Infinity],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = forkParam(ctx, 'interp_param', ['deeplab', 'pspnet']);
    const padBeg = p.num('pad_beg');
    const padEnd = p.num('pad_end');
    if (padBeg > 0) throw new CaffeToolError(`interp_param.pad_beg must be 0 or negative (only cropping is supported), got ${padBeg}`);
    if (padEnd > 0) throw new CaffeToolError(`interp_param.pad_end must be 0 or negative (only cropping is supported), got ${padEnd}`);
    const [n, c, h, w] = legacyShape(ctx.inputs[0], 'Interp');
    const [hEff, wEff] = [h + padBeg + padEnd, w + padBeg + padEnd];
    const hasShrink = p.has('shrink_factor');
    const hasZoom = p.has('zoom_factor');
    const factor = (name: string) => {
      const f = p.num(name);
      if (f < 1) throw new CaffeToolError(`interp_param.${name} must be at least 1, got ${f}`);
      return f;
    };
    let out: [number, number];
    if (hasShrink && !hasZoom) {
      const s = factor('shrink_factor');
      out = [shrink(hEff, s), shrink(wEff, s)];
    } else if (hasZoom && !hasShrink) {
      const z = factor('zoom_factor');
      out = [zoom(hEff, z), zoom(wEff, z)];
    } else if (p.has('height') && p.has('width')) {
      out = [p.num('height'), p.num('width')];
    } else if (hasShrink && hasZoom) {
      const [s, z] = [factor('shrink_factor'), factor('zoom_factor')];
      out = [zoom(shrink(hEff, s), z), zoom(shrink(wEff, s), z)];
    } else if (ctx.inputs.length === 2) {
      const like = legacyShape(ctx.inputs[1], 'Interp');
      out = [like[2], like[3]];
    } else {
      throw new CaffeToolError('Interp has no output size: give interp_param zoom_factor, shrink_factor, or height and width, or a second bottom to take the size from');
    }
    if (hEff <= 0 || wEff <= 0) {
      throw new CaffeToolError(`pad_beg ${padBeg} and pad_end ${padEnd} crop the whole ${h}x${w} input away (${hEff}x${wEff} left)`);
    }
    if (out[0] <= 0 || out[1] <= 0) throw new CaffeToolError(`the output size ${out[0]}x${out[1]} must be positive`);
    return [[n, c, ...out]];
  },
  toOnnx(ctx) {
    const p = forkParam(ctx, 'interp_param', ['deeplab', 'pspnet']);
    const [padBeg, padEnd] = [p.num('pad_beg'), p.num('pad_end')];
    const [, c, h, w] = legacyShape(ctx.inputs[0], 'Interp');
    const [, , oh, ow] = ctx.outputs[0];
    let x = ctx.x[0];
    if (ctx.inputs[0].length !== 4) x = ctx.g.node('Reshape', [x, ctx.g.int64([0, c, h, w])], { name: `${ctx.name}_4d` });
    // caffe_cpu_interp2 reads the window that starts at -pad_beg on both axes and is H + pad_beg + pad_end high.
    const [hEff, wEff] = [h + padBeg + padEnd, w + padBeg + padEnd];
    if (padBeg || padEnd) {
      const starts = ctx.g.int64([-padBeg, -padBeg]);
      const ends = ctx.g.int64([h + padEnd, w + padEnd]);
      x = ctx.g.node('Slice', [x, starts, ends, ctx.g.int64([2, 3])], { name: `${ctx.name}_crop` });
    }
    if (hEff === oh && wEff === ow) {
      ctx.g.node('Identity', [x], { outputs: ctx.y, name: ctx.name });
      return;
    }
    // Bilinear with the corners aligned: src = dst * (in - 1) / (out - 1), 0 for a 1-pixel output, clamped at the edge.
    const attrs = { mode: 'linear', coordinate_transformation_mode: 'align_corners' };
    if (ctx.g.opset >= 18) {
      ctx.g.node('Resize', [x, '', '', ctx.g.int64([oh, ow])], { outputs: ctx.y, name: ctx.name, attrs: { ...attrs, axes: [2, 3] } });
      return;
    }
    let sizes: string;
    if (!ctx.dynamicBatch) sizes = ctx.g.int64([ctx.outputs[0][0], c, oh, ow]);
    else {
      const nc = ctx.g.opset >= 15
        ? ctx.g.node('Shape', [x], { attrs: { start: 0, end: 2 }, name: `${ctx.name}_nc` })
        : ctx.g.node('Slice', [ctx.g.node('Shape', [x], { name: `${ctx.name}_shape` }), ctx.g.int64([0]), ctx.g.int64([2])], { name: `${ctx.name}_nc` });
      sizes = ctx.g.node('Concat', [nc, ctx.g.int64([oh, ow])], { attrs: { axis: 0 }, name: `${ctx.name}_sizes` });
    }
    ctx.g.node('Resize', [x, '', '', sizes], { outputs: ctx.y, name: ctx.name, attrs });
  },
  gradient(ctx) {
    // The resize is separable, y = A_h x A_w^T per plane with A [out, in] the interpolation weights, so its adjoint
    // is dx = A_h^T dy A_w (caffe_cpu_interp2_backward spreads each top value over the same four sources); the
    // cropped border gets no gradient.
    const p = forkParam(ctx, 'interp_param', ['deeplab', 'pspnet']);
    const [padBeg, padEnd] = [p.num('pad_beg'), p.num('pad_end')];
    const input = ctx.inputs[0];
    const [, , h, w] = legacyShape(input, 'Interp');
    const [, , oh, ow] = ctx.outputs[0];
    const [hEff, wEff] = [h + padBeg + padEnd, w + padBeg + padEnd];
    let dx = ctx.dy[0]!;
    if (ow !== wEff) dx = ctx.g.node('MatMul', [dx, ctx.g.float32(interpWeights(wEff, ow), [ow, wEff])], { name: `${ctx.name}_dx_w` });
    if (oh !== hEff) {
      const transposed = interpWeights(hEff, oh);
      const t = new Float32Array(hEff * oh);
      for (let o = 0; o < oh; o++) for (let i = 0; i < hEff; i++) t[i * oh + o] = transposed[o * hEff + i];
      dx = ctx.g.node('MatMul', [ctx.g.float32(t, [hEff, oh]), dx], { name: `${ctx.name}_dx_h` });
    }
    if (padBeg || padEnd) {
      dx = ctx.g.node('Pad', [dx, ctx.g.int64([0, 0, -padBeg, -padBeg, 0, 0, -padEnd, -padEnd])], { name: `${ctx.name}_dx_uncrop` });
    }
    if (input.length !== 4) dx = ctx.g.node('Reshape', [dx, ctx.g.int64(input)], { name: `${ctx.name}_dx` });
    // A bottom that only gives the size gets no gradient (Caffe's backward writes bottom[0] only): zeros if asked.
    const others = ctx.inputs.slice(1).map((shape, i) => (ctx.needDx[i + 1] ? zeros(ctx, shape) : undefined));
    return { dx: [dx, ...others] };
  },
};

/**
 * The [out, in] matrix of aligned-corner linear interpolation on one axis, in Caffe's float arithmetic:
 * src = o * (in - 1) / (out - 1), weights 1 - frac and frac on src's floor and the next index (none past the edge).
 */
function interpWeights(size: number, out: number): Float32Array {
  const a = new Float32Array(out * size);
  const ratio = out > 1 ? Math.fround((size - 1) / (out - 1)) : 0;
  for (let o = 0; o < out; o++) {
    const src = Math.fround(ratio * o);
    const i = Math.trunc(src);
    const next = i < size - 1 ? 1 : 0;
    const frac = Math.fround(src - i);
    a[o * size + i] += 1 - frac;
    a[o * size + i + next] += frac;
  }
  return a;
}
