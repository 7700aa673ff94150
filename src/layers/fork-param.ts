// The parameter message of a fork-only layer, with an error that names the forks to read the net as when
// the net's dialect does not have that message.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';
import type { LayerContext } from './types.js';

export function forkParam(ctx: LayerContext, field: string, forks: string[]): Params {
  try {
    return ctx.param(field);
  } catch (e) {
    if (!(e instanceof CaffeToolError)) throw e;
    throw new CaffeToolError(`${field} is not part of the ${ctx.dialect} schema, so this layer's parameters cannot be read`, {
      hint: `${ctx.type} comes from ${forks.join(' / ')}: read the net with --dialect ${forks[0]}`,
    });
  }
}
