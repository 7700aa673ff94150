// What LSTM and RNN share (Caffe's RecurrentLayer): inputs x [T, N, ...] and cont [T, N], an optional static
// input [N, ...], and with expose_hidden the initial states as inputs and the final states as extra tops,
// each [1, N, num_output]. The main output is [T, N, num_output].
import { CaffeToolError } from '../errors.js';
import { count, formatShape } from './shape.js';
import type { LayerContext, Shape } from './types.js';

export interface RecurrentGeometry {
  /** Timesteps and independent streams. */
  T: number;
  N: number;
  numOutput: number;
  /** Features per timestep of x (its axes after the first two). */
  inputDim: number;
  /** Features of the static input (its axes after the first), when there is one. */
  staticDim?: number;
  /** Tops after the main output: the final recurrent states when expose_hidden is set. */
  exposedTops: number;
}

/** `states` names the recurrent states in Caffe's order (LSTM: h_0, c_0; RNN: h_0). */
export function recurrentGeometry(ctx: LayerContext, states: string[]): RecurrentGeometry {
  const p = ctx.param('recurrent_param');
  const exposed = p.bool('expose_hidden') ? states.length : 0;
  const minBottoms = 2 + exposed;
  if (ctx.inputs.length < minBottoms || ctx.inputs.length > minBottoms + 1) {
    throw new CaffeToolError(`${ctx.type} with expose_hidden ${exposed > 0} takes ${minBottoms} or ${minBottoms + 1} bottoms (x, cont, optional static input${exposed ? `, ${states.join(', ')}` : ''}), this one has ${ctx.inputs.length}`);
  }
  if (ctx.tops.length !== 1 + exposed) {
    throw new CaffeToolError(`${ctx.type} with expose_hidden ${exposed > 0} takes exactly ${1 + exposed} top${exposed ? 's (the output, then the final states)' : ''}, this one has ${ctx.tops.length}`);
  }
  const [x, cont] = ctx.inputs;
  if (x.length < 2) throw new CaffeToolError(`the input x must have at least 2 axes (T timesteps, N streams, ...), got ${formatShape(x)}`);
  const [T, N] = x;
  if (cont.length !== 2 || cont[0] !== T || cont[1] !== N) {
    throw new CaffeToolError(`the sequence continuation input cont must be [T, N] = ${T}x${N} like the first two axes of x, got ${formatShape(cont)}`);
  }
  const hasStatic = ctx.inputs.length > 2 + exposed;
  const xStatic = hasStatic ? ctx.inputs[2] : undefined;
  if (xStatic && (xStatic.length < 1 || xStatic[0] !== N)) {
    throw new CaffeToolError(`the static input must be [N, ...] with N = ${N} streams, got ${formatShape(xStatic)}`);
  }
  const numOutput = p.num('num_output');
  if (!(numOutput > 0)) throw new CaffeToolError(`recurrent_param.num_output must be given and positive, got ${numOutput}`);
  // The unrolled net's InnerProducts read x from axis 2 and the static input from axis 1.
  if (x.length < 3) throw new CaffeToolError(`the input x must have at least 3 axes (T, N, features...): ${ctx.type} transforms it with an InnerProduct over axis 2, got ${formatShape(x)}`);
  if (xStatic && xStatic.length < 2) {
    throw new CaffeToolError(`the static input must have at least 2 axes (N, features...): ${ctx.type} transforms it with an InnerProduct over axis 1, got ${formatShape(xStatic)}`);
  }
  const stateShape = [1, N, numOutput];
  ctx.inputs.slice(2 + Number(hasStatic)).forEach((s, i) => {
    if (formatShape(s) !== formatShape(stateShape)) {
      throw new CaffeToolError(`the initial state ${states[i]} (bottom ${2 + Number(hasStatic) + i}) must be [1, N, num_output] = ${formatShape(stateShape)}, got ${formatShape(s)}`);
    }
  });
  return { T, N, numOutput, inputDim: count(x, 2), staticDim: xStatic && count(xStatic, 1), exposedTops: exposed };
}

export function recurrentOutputs(g: RecurrentGeometry): Shape[] {
  return [[g.T, g.N, g.numOutput], ...Array.from({ length: g.exposedTops }, () => [1, g.N, g.numOutput])];
}
