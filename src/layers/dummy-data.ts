// DummyData: tops filled by fillers, shaped by dummy_data_param: `shape` (one for all tops or one per top), or
// the legacy num/channels/height/width (each given once for all tops or once per top) for 4-D tops.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { LayerDef, Shape } from './types.js';

export const dummyData: LayerDef = {
  type: 'DummyData',
  source: true,
  param: 'dummy_data_param',
  bottoms: [0, 0],
  tops: [1, Infinity],
  outputShapes(ctx) {
    const p = ctx.param('dummy_data_param');
    const tops = ctx.tops.length;
    const fillers = p.get<Message[]>('data_filler').length;
    if (fillers !== 0 && fillers !== 1 && fillers !== tops) {
      throw new CaffeToolError(`dummy_data_param has ${fillers} data_filler for ${tops} tops: give none, one, or one per top`);
    }
    const legacy = ['num', 'channels', 'height', 'width'];
    const shapes = p.get<Message[]>('shape');
    if (legacy.some((f) => p.has(f))) {
      if (shapes.length) throw new CaffeToolError('dummy_data_param gives both shape and the legacy num/channels/height/width: use one');
      const dims = legacy.map((f) => {
        const v = p.list(f);
        if (v.length !== 1 && v.length !== tops) throw new CaffeToolError(`dummy_data_param has ${v.length} ${f} for ${tops} tops: give ${f} once, or once per top`);
        return v;
      });
      return ctx.tops.map((_, i): Shape => dims.map((v) => v[v.length === 1 ? 0 : i]));
    }
    if (shapes.length !== 1 && shapes.length !== tops) {
      throw new CaffeToolError(`dummy_data_param has ${shapes.length} shape for ${tops} tops: give shape once, or once per top`);
    }
    return ctx.tops.map((_, i) => Array.from((shapes[shapes.length === 1 ? 0 : i].dim as ArrayLike<number | bigint> | undefined) ?? [], Number));
  },
};
