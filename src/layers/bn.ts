// BN, the forks' batch normalization with its own learned scale and shift, per channel (axis 1).
// SegNet/ENet: blobs scale and shift [1, C, 1, 1]; the output is the input seen as 4-D, and in LEARN mode two
// more tops may take the batch mean and variance [1, C, 1, 1]. PSPNet: blobs scale (its "slope"), shift
// (its "bias"), running mean and running variance, each [1, C, 1, 1], same shape out. Other dialects have no
// BN of their own: the PSPNet layout is used, the one yjxiong/caffe and most other 4-blob BN forks share.
import { CaffeToolError } from '../errors.js';
import { forkParam } from './fork-param.js';
import { legacyShape } from './shape.js';
import type { BlobSpec, LayerContext, LayerDef } from './types.js';

const segnetLike = (ctx: LayerContext) => ctx.dialect === 'segnet' || ctx.dialect === 'enet';

export const bn: LayerDef = {
  type: 'BN',
  param: 'bn_param',
  bottoms: [1, 1],
  tops: [1, 3],
  outputShapes(ctx) {
    const [n, c, h, w] = legacyShape(ctx.inputs[0], 'BN');
    if (!segnetLike(ctx)) {
      if (ctx.tops.length !== 1) throw new CaffeToolError(`a BN layer takes exactly 1 top in dialect ${ctx.dialect}, this one has ${ctx.tops.length}`);
      return [[...ctx.inputs[0]]];
    }
    const mode = forkParam(ctx, 'bn_param', ['segnet', 'enet']).str('bn_mode');
    if (ctx.tops.length > 1 && mode !== 'LEARN') {
      throw new CaffeToolError(`only bn_mode LEARN has the batch mean and variance tops; in ${mode} mode BN takes exactly 1 top, this one has ${ctx.tops.length}`);
    }
    return [[n, c, h, w], [1, c, 1, 1], [1, c, 1, 1]].slice(0, ctx.tops.length);
  },
  blobs(ctx) {
    const c = legacyShape(ctx.inputs[0], 'BN')[1];
    const roles = segnetLike(ctx) ? ['scale', 'shift'] : ['scale', 'shift', 'mean', 'variance'];
    return roles.map((role): BlobSpec => ({ role, shape: [1, c, 1, 1] }));
  },
};
