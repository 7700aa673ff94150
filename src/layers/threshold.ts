// Threshold: y = 1 if x > threshold else 0, element-wise, same shape.
import { CaffeToolError } from '../errors.js';
import { sameAsInput } from './shape.js';
import type { LayerDef } from './types.js';

export const threshold: LayerDef = {
  type: 'Threshold',
  param: 'threshold_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    // Strictly greater: a value equal to the threshold gives 0.
    const above = ctx.g.node('Greater', [ctx.x[0], ctx.g.float32([ctx.param('threshold_param').num('threshold')], [])], { name: `${ctx.name}_greater` });
    ctx.g.node('Cast', [above], { outputs: ctx.y, name: ctx.name, attrs: { to: 1 } });
  },
  gradient() {
    // A step function: Caffe's ThresholdLayer has no backward (NOT_IMPLEMENTED) and aborts when asked for one.
    throw new CaffeToolError('Threshold has no gradient (Caffe does not implement its backward)', {
      hint: 'set propagate_down: false on this layer, or make sure nothing before it learns',
    });
  },
};
