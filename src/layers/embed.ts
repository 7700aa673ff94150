// Embed: looks up row x of a [input_dim, num_output] table for every input value x (integer indices in
// [0, input_dim)); output = input shape + [num_output]. Weights [input_dim, num_output], bias [num_output].
import { CaffeToolError } from '../errors.js';
import type { LayerContext, LayerDef } from './types.js';

function geometry(ctx: LayerContext) {
  const p = ctx.param('embed_param');
  const n = p.num('num_output');
  const k = p.num('input_dim');
  if (n <= 0) throw new CaffeToolError('embed_param.num_output must be given and positive');
  if (k <= 0) throw new CaffeToolError('embed_param.input_dim must be given and positive (one more than the largest index)');
  return { n, k, bias: p.bool('bias_term') };
}

export const embed: LayerDef = {
  type: 'Embed',
  param: 'embed_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes(ctx) {
    return [[...ctx.inputs[0], geometry(ctx).n]];
  },
  blobs(ctx) {
    const g = geometry(ctx);
    const weight = { role: 'weight', shape: [g.k, g.n] };
    return g.bias ? [weight, { role: 'bias', shape: [g.n] }] : [weight];
  },
  toOnnx(ctx) {
    const g = geometry(ctx);
    // Caffe copies row static_cast<int>(x) and then adds the bias to it (in float): the table with the bias
    // already added gives the same values with one Gather.
    let table = ctx.weights[0];
    if (g.bias) {
      const bias = ctx.weights[1];
      table = new Float32Array(table.length);
      for (let i = 0; i < table.length; i++) table[i] = ctx.weights[0][i] + bias[i % g.n];
    }
    const w = ctx.g.initializer(`${ctx.name}_W`, table, [g.k, g.n]);
    // Float to int64 truncates toward zero, as the C++ cast does.
    const index = ctx.g.node('Cast', ctx.x, { name: `${ctx.name}_index`, attrs: { to: 7 } });
    ctx.g.node('Gather', [w, index], { outputs: ctx.y, name: ctx.name, attrs: { axis: 0 } });
  },
};
