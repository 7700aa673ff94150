// Parameter: no bottoms; its one top is its learned blob, of shape parameter_param.shape.
import { checkPositive } from './shape.js';
import type { LayerContext, LayerDef } from './types.js';

function shape(ctx: LayerContext): number[] {
  return ctx.param('parameter_param').sub('shape').list('dim').map((d, i) => checkPositive(d, `parameter_param.shape dim ${i}`));
}

export const parameter: LayerDef = {
  type: 'Parameter',
  param: 'parameter_param',
  bottoms: [0, 0],
  tops: [1, 1],
  outputShapes: (ctx) => [shape(ctx)],
  blobs: (ctx) => [{ role: 'value', shape: shape(ctx) }],
  toOnnx(ctx) {
    // A constant at inference: its blob, under the top's name.
    const value = ctx.weight(0);
    ctx.g.node('Identity', [value], { outputs: ctx.y, name: ctx.name });
  },
};
