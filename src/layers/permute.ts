// Permute (SSD): reorders the axes. Top axis i is input axis permute_param.order[i]; the axes order leaves out
// follow in their original order.
import { CaffeToolError } from '../errors.js';
import type { LayerDef } from './types.js';

export const permute: LayerDef = {
  type: 'Permute',
  param: 'permute_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const input = ctx.inputs[0];
    const order: number[] = [];
    for (const axis of ctx.param('permute_param').list('order')) {
      if (axis >= input.length) {
        throw new CaffeToolError(`permute_param.order ${axis} is not an axis of the ${input.length}-D input (axes 0 to ${input.length - 1})`);
      }
      if (order.includes(axis)) throw new CaffeToolError(`permute_param.order names axis ${axis} twice`);
      order.push(axis);
    }
    for (let axis = 0; axis < input.length; axis++) if (!order.includes(axis)) order.push(axis);
    return [order.map((axis) => input[axis])];
  },
};
