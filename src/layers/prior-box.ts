// PriorBox (SSD): the default boxes of one feature map, shared by every image: top [1, 2, H * W * num_priors * 4],
// channel 0 the box corners and channel 1 their variances. num_priors = (1 + each new aspect_ratio, and its inverse
// with flip) * the number of min_size, + the number of max_size.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';
import { legacyShape } from './shape.js';
import type { LayerDef, Shape } from './types.js';

/** The boxes per position, counted as prior_box_layer.cpp counts them, with its parameter checks. */
function priorCount(p: Params): number {
  const minSizes = p.list('min_size');
  if (!minSizes.length) throw new CaffeToolError('prior_box_param needs at least one min_size');
  for (const m of minSizes) if (!(m > 0)) throw new CaffeToolError(`prior_box_param.min_size must be positive, got ${m}`);
  const ratios = [1];
  const flip = p.bool('flip');
  for (const ratio of p.list('aspect_ratio')) {
    // Ratios within 1e-6 of one already there (1, an earlier ratio or an inverse) add nothing.
    if (ratios.some((r) => Math.abs(ratio - r) < 1e-6)) continue;
    ratios.push(ratio);
    if (flip) ratios.push(Math.fround(1 / ratio));
  }
  const maxSizes = p.list('max_size');
  if (maxSizes.length) {
    if (maxSizes.length !== minSizes.length) {
      throw new CaffeToolError(`prior_box_param has ${minSizes.length} min_size but ${maxSizes.length} max_size: give one max_size per min_size, or none`);
    }
    maxSizes.forEach((m, i) => {
      if (!(m > minSizes[i])) throw new CaffeToolError(`prior_box_param.max_size ${m} must be greater than its min_size ${minSizes[i]}`);
    });
  }
  const variances = p.list('variance');
  if (variances.length > 1 && variances.length !== 4) {
    throw new CaffeToolError(`prior_box_param.variance takes one value or exactly 4 (for xmin, ymin, xmax, ymax), got ${variances.length}`);
  }
  for (const v of variances) if (!(v > 0)) throw new CaffeToolError(`prior_box_param.variance must be positive, got ${v}`);
  checkPair(p, 'img_size', 'img_h', 'img_w');
  checkPair(p, 'step', 'step_h', 'step_w');
  return ratios.length * minSizes.length + maxSizes.length;
}

/** img_size or img_h/img_w (likewise step or step_h/step_w): one form only, and positive. */
function checkPair(p: Params, one: string, h: string, w: string): void {
  if (p.has(h) || p.has(w)) {
    if (p.has(one)) throw new CaffeToolError(`prior_box_param: give either ${one} or ${h}/${w}, not both`);
    for (const f of [h, w]) if (!(p.num(f) > 0)) throw new CaffeToolError(`prior_box_param.${f} must be larger than 0 (give both ${h} and ${w}), got ${p.num(f)}`);
  } else if (p.has(one) && !(p.num(one) > 0)) {
    throw new CaffeToolError(`prior_box_param.${one} must be larger than 0, got ${p.num(one)}`);
  }
}

export const priorBox: LayerDef = {
  type: 'PriorBox',
  param: 'prior_box_param',
  // SSD's header misspells ExactNumBottomBlobs (ExactBottomBlobs), so Caffe counts nothing: bottom 0 is the
  // feature map, bottom 1 the image, read only when prior_box_param gives no image size.
  bottoms: [1, Infinity],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('prior_box_param');
    const numPriors = priorCount(p);
    if (ctx.inputs.length < 2 && !(p.has('img_size') || p.has('img_h') || p.has('img_w'))) {
      throw new CaffeToolError('PriorBox needs the image as its second bottom to scale the boxes, unless prior_box_param gives img_size (or img_h and img_w)');
    }
    const [, , height, width] = legacyShape(ctx.inputs[0], 'PriorBox');
    return [[1, 2, height * width * numPriors * 4]];
  },
  toOnnx(ctx) {
    // The boxes depend only on the shapes: computed here and stored as a constant.
    const boxes = priorBoxes(ctx.param('prior_box_param'), ctx.inputs);
    ctx.g.node('Identity', [ctx.g.initializer(`${ctx.name}_priors`, boxes, ctx.outputs[0])], { outputs: ctx.y, name: ctx.name });
  },
};

/**
 * PriorBoxLayer::Forward_cpu with its float arithmetic: per position (h, w) and per min_size (truncated to an
 * int, as Caffe reads it), the min_size box, then the sqrt(min_size * max_size) box, then one box per aspect
 * ratio other than 1 (min_size * sqrt(ar) wide, min_size / sqrt(ar) high), each as (xmin, ymin, xmax, ymax) / image size; clipped to [0, 1] with clip; then the
 * variances. The C++ expressions mix float and double: double intermediates, float results.
 */
function priorBoxes(p: Params, inputs: Shape[]): Float32Array {
  const f = Math.fround;
  const [, , layerH, layerW] = legacyShape(inputs[0], 'PriorBox');
  const minSizes = p.list('min_size').map((m) => Math.trunc(f(m)));
  const maxSizes = p.list('max_size').map((m) => Math.trunc(f(m)));
  const ratios = [1];
  for (const value of p.list('aspect_ratio')) {
    const ar = f(value);
    if (ratios.some((r) => Math.abs(f(ar - r)) < 1e-6)) continue;
    ratios.push(ar);
    if (p.bool('flip')) ratios.push(f(1 / ar));
  }
  let [imgH, imgW] = p.has('img_h') || p.has('img_w') ? [p.num('img_h'), p.num('img_w')] : p.has('img_size') ? [p.num('img_size'), p.num('img_size')] : [0, 0];
  if (imgH === 0 || imgW === 0) [, , imgH, imgW] = legacyShape(inputs[1], 'PriorBox');
  let [stepH, stepW] = p.has('step_h') || p.has('step_w') ? [f(p.num('step_h')), f(p.num('step_w'))] : p.has('step') ? [f(p.num('step')), f(p.num('step'))] : [0, 0];
  if (stepH === 0 || stepW === 0) [stepH, stepW] = [f(imgH / layerH), f(imgW / layerW)];
  const offset = f(p.num('offset'));
  const numPriors = ratios.length * minSizes.length + maxSizes.length;
  const dim = layerH * layerW * numPriors * 4;
  const out = new Float32Array(2 * dim);
  let i = 0;
  const box = (cx: number, cy: number, bw: number, bh: number) => {
    out[i++] = (cx - bw / 2) / imgW;
    out[i++] = (cy - bh / 2) / imgH;
    out[i++] = (cx + bw / 2) / imgW;
    out[i++] = (cy + bh / 2) / imgH;
  };
  for (let h = 0; h < layerH; h++) {
    for (let w = 0; w < layerW; w++) {
      const cx = f(f(w + offset) * stepW);
      const cy = f(f(h + offset) * stepH);
      minSizes.forEach((min, s) => {
        box(cx, cy, min, min);
        if (maxSizes.length) {
          const side = f(Math.sqrt(min * maxSizes[s]));
          box(cx, cy, side, side);
        }
        for (const ar of ratios) {
          if (Math.abs(ar - 1) < 1e-6) continue;
          box(cx, cy, f(min * Math.sqrt(ar)), f(min / Math.sqrt(ar)));
        }
      });
    }
  }
  if (p.bool('clip')) for (let d = 0; d < dim; d++) out[d] = Math.min(Math.max(out[d], 0), 1);
  const variances = p.list('variance').map(f);
  if (!variances.length) variances.push(f(0.1));
  for (let d = 0; d < dim; d++) out[dim + d] = variances.length === 1 ? variances[0] : variances[d % 4];
  return out;
}
