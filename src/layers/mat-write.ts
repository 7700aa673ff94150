// MatWrite (DeepLab v2): writes each bottom, every `period` forward passes, to a MAT-file; no tops, no backward.
// The writing happens beside the graph (src/train/mat-write.ts); in the graph the layer only consumes its bottoms.
import { CaffeToolError } from '../errors.js';
import { forkParam } from './fork-param.js';
import { legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const matWrite: LayerDef = {
  type: 'MatWrite',
  // An export leaves it out, so the blobs it reads stay the model's outputs.
  trainingOnly: true,
  param: 'mat_write_param',
  bottoms: [1, Infinity],
  tops: [0, 0],
  outputShapes(ctx) {
    const p = forkParam(ctx, 'mat_write_param', ['deeplab', 'pspnet']);
    if (!p.has('prefix')) throw new CaffeToolError('mat_write_param.prefix is required (where the MAT-files go)');
    if (!(p.num('period') > 0)) throw new CaffeToolError(`mat_write_param.period must be positive, got ${p.num('period')}`);
    if (p.num('strip') < 0) throw new CaffeToolError(`mat_write_param.strip must be 0 or more, got ${p.num('strip')}`);
    for (const s of ctx.inputs) legacyShape(s, 'MatWrite');
    return [];
  },
  toOnnx() {},
};
