// MemoryData: arrays handed over by the calling program; tops data [batch_size, channels, height, width] and
// label [batch_size], straight from memory_data_param.
import { CaffeToolError } from '../errors.js';
import type { LayerDef } from './types.js';

export const memoryData: LayerDef = {
  type: 'MemoryData',
  source: true,
  param: 'memory_data_param',
  bottoms: [0, 0],
  tops: [2, 2],
  outputShapes(ctx) {
    const p = ctx.param('memory_data_param');
    const [n, c, h, w] = ['batch_size', 'channels', 'height', 'width'].map((f) => p.num(f));
    if (!(n * c * h * w > 0)) {
      throw new CaffeToolError(`memory_data_param needs batch_size, channels, height and width all given and positive, got ${n}, ${c}, ${h}, ${w}`);
    }
    return [[n, c, h, w], [n]];
  },
};
