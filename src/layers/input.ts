// Input: tops with the shapes input_param gives, one per top or one for all.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { LayerDef } from './types.js';

export const input: LayerDef = {
  type: 'Input',
  source: true,
  param: 'input_param',
  bottoms: [0, 0],
  tops: [1, Infinity],
  outputShapes(ctx) {
    const shapes = ctx.param('input_param').get<Message[]>('shape').map((s) => Array.from((s.dim as number[] | undefined) ?? [], Number));
    if (shapes.length !== 1 && shapes.length !== ctx.tops.length) {
      throw new CaffeToolError(`input_param has ${shapes.length} shapes for ${ctx.tops.length} tops: give one shape, or one per top`);
    }
    return ctx.tops.map((_, i) => [...shapes[shapes.length === 1 ? 0 : i]]);
  },
};
