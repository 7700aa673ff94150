// Clip: y = max(min, min(max, x)), element-wise, same shape. clip_param min and max are required fields.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const clip: LayerDef = {
  type: 'Clip',
  param: 'clip_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('clip_param');
    const missing = ['min', 'max'].filter((f) => !p.has(f));
    if (missing.length) throw new CaffeToolError(`clip_param.${missing.join(' and clip_param.')} must be given (required fields)`);
    return sameAsInput(ctx);
  },
  toOnnx(ctx) {
    const p = ctx.param('clip_param');
    const [lo, hi] = [p.num('min'), p.num('max')];
    // Caffe computes max(min, min(x, max)): with min > max every value becomes min. ONNX clips as
    // min(max(x, min), max), which would give max there, so the upper bound is raised to min.
    const bounds = [ctx.g.float32([lo], []), ctx.g.float32([Math.max(lo, hi)], [])];
    ctx.g.node('Clip', [ctx.x[0], ...bounds], { outputs: ctx.y, name: ctx.name });
  },
};
