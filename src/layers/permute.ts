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
    return [permuteOrder(ctx.param('permute_param').list('order'), input.length).map((axis) => input[axis])];
  },
  toOnnx(ctx) {
    const perm = permuteOrder(ctx.param('permute_param').list('order'), ctx.inputs[0].length);
    if (perm.every((axis, i) => axis === i)) ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
    else ctx.g.node('Transpose', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { perm } });
  },
};

/** The full axis order: the listed axes, then the ones the list leaves out in their original order. */
function permuteOrder(listed: number[], numAxes: number): number[] {
  const order: number[] = [];
  for (const axis of listed) {
    if (axis >= numAxes) {
      throw new CaffeToolError(`permute_param.order ${axis} is not an axis of the ${numAxes}-D input (axes 0 to ${numAxes - 1})`);
    }
    if (order.includes(axis)) throw new CaffeToolError(`permute_param.order names axis ${axis} twice`);
    order.push(axis);
  }
  for (let axis = 0; axis < numAxes; axis++) if (!order.includes(axis)) order.push(axis);
  return order;
}
