// What LSTM and RNN share (Caffe's RecurrentLayer): inputs x [T, N, ...] and cont [T, N], an optional static
// input [N, ...], and with expose_hidden the initial states as inputs and the final states as extra tops,
// each [1, N, num_output]. The main output is [T, N, num_output].
import { CaffeToolError } from '../errors.js';
import { count, formatShape } from './shape.js';
import type { LayerContext, OnnxContext, Shape } from './types.js';

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

/** The values an unrolled recurrent net reads per timestep, built once for all of them. */
export interface UnrolledInputs {
  /** W_x x_t + b for t = 1..T, each [1, N, width]. */
  xt: string[];
  /** W_x_static x_static, [1, N, width], when there is a static input. */
  xStatic?: string;
  /** cont_t for t = 1..T, each [1, N, 1]. */
  cont: string[];
  /** The initial states given as bottoms (expose_hidden), in Caffe's order. */
  states: string[];
}

/**
 * RecurrentLayer's unrolled net, the part LSTM and RNN share: x (all timesteps at once) through the input
 * InnerProduct (axis 2, weights [width, I], bias), the static input through its own (axis 1, no bias), both sliced
 * or reshaped per timestep, and cont sliced per timestep. The timesteps are unrolled, so T must be fixed.
 */
export function unrollInputs(ctx: OnnxContext, g: RecurrentGeometry, width: number, wx: Float32Array, bx: Float32Array, wStatic?: Float32Array): UnrolledInputs {
  if (ctx.dynamicBatch) {
    throw new CaffeToolError(`${ctx.type} is exported with its ${g.T} timestep${g.T === 1 ? '' : 's'} unrolled, so its first axis (time, not the batch) must be fixed: export without --dynamic-batch`);
  }
  const { T, N } = g;
  const flat = ctx.g.node('Reshape', [ctx.x[0], ctx.g.int64([T * N, g.inputDim])], { name: `${ctx.name}_x_flat` });
  const w = ctx.g.initializer(`${ctx.name}_W_x`, wx, [width, g.inputDim]);
  const b = ctx.g.initializer(`${ctx.name}_b`, bx, [width]);
  const transformed = ctx.g.node('Gemm', [flat, w, b], { attrs: { transB: 1 }, name: `${ctx.name}_x_transform` });
  const perStep = ctx.g.node('Reshape', [transformed, ctx.g.int64([T, N, width])], { name: `${ctx.name}_x_steps` });
  const ones = ctx.g.int64(Array(T).fill(1));
  const split = (x: string, what: string) => (T === 1 ? [x] : ctx.g.nodeN('Split', [x, ones], T, { attrs: { axis: 0 }, name: `${ctx.name}_${what}_slice` }));
  const cont = ctx.g.node('Unsqueeze', [ctx.x[1], ctx.g.int64([2])], { name: `${ctx.name}_cont` });
  const out: UnrolledInputs = { xt: split(perStep, 'x'), cont: split(cont, 'cont'), states: ctx.x.slice(2 + Number(wStatic !== undefined)) };
  if (wStatic && g.staticDim !== undefined) {
    const staticFlat = ctx.g.node('Flatten', [ctx.x[2]], { attrs: { axis: 1 }, name: `${ctx.name}_static_flat` });
    const ws = ctx.g.initializer(`${ctx.name}_W_static`, wStatic, [width, g.staticDim]);
    const st = ctx.g.node('Gemm', [staticFlat, ws], { attrs: { transB: 1 }, name: `${ctx.name}_static_transform` });
    out.xStatic = ctx.g.node('Unsqueeze', [st, ctx.g.int64([0])], { name: `${ctx.name}_static` });
  }
  return out;
}

/** A [rows, cols] weight transposed at export time, for MatMul(h, W^T) on [1, N, cols] states. */
export function transposedWeight(ctx: OnnxContext, w: Float32Array, rows: number, cols: number, what: string): string {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return ctx.g.initializer(`${ctx.name}_${what}_T`, t, [cols, rows]);
}
