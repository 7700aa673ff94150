// Tile: repeats the bottom tile_param.tiles times along tile_param.axis (default 1): that dim is multiplied by tiles.
import { CaffeToolError } from '../errors.js';
import { canonicalAxis } from './shape.js';
import type { LayerDef } from './types.js';

export const tile: LayerDef = {
  type: 'Tile',
  param: 'tile_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('tile_param');
    const input = ctx.inputs[0];
    const axis = canonicalAxis(p.num('axis'), input.length, 'tile_param.axis');
    if (!p.has('tiles')) throw new CaffeToolError('tile_param.tiles must be given (how many copies along the axis)');
    const tiles = p.num('tiles');
    if (tiles <= 0) throw new CaffeToolError(`tile_param.tiles must be positive, got ${tiles}`);
    const out = [...input];
    out[axis] *= tiles;
    return [out];
  },
  toOnnx(ctx) {
    // Caffe copies the whole block from `axis` on `tiles` times per outer index: ONNX Tile on that one axis.
    const p = ctx.param('tile_param');
    const n = ctx.inputs[0].length;
    const axis = canonicalAxis(p.num('axis'), n, 'tile_param.axis');
    const tiles = p.num('tiles');
    if (tiles === 1) {
      ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
      return;
    }
    const repeats = Array.from({ length: n }, (_, i) => (i === axis ? tiles : 1));
    ctx.g.node('Tile', [ctx.x[0], ctx.g.int64(repeats)], { outputs: ctx.y, name: ctx.name });
  },
  gradient(ctx) {
    // The copies lie side by side along the axis: see the top as [..., tiles, input dim, ...] and sum the copies.
    const input = ctx.inputs[0];
    const p = ctx.param('tile_param');
    const axis = canonicalAxis(p.num('axis'), input.length, 'tile_param.axis');
    const tiles = p.num('tiles');
    if (tiles === 1) return { dx: [ctx.dy[0]] };
    const split = ctx.g.node('Reshape', [ctx.dy[0]!, ctx.g.int64([...input.slice(0, axis), tiles, ...input.slice(axis)])], { name: `${ctx.name}_copies` });
    return { dx: [ctx.g.node('ReduceSum', [split, ctx.g.int64([axis])], { name: `${ctx.name}_dx`, attrs: { keepdims: 0 } })] };
  },
};
