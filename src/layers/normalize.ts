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
};
