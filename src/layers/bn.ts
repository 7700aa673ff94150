// BN, the forks' batch normalization with its own learned scale and shift, per channel (axis 1).
// SegNet/ENet: blobs scale and shift [1, C, 1, 1]; the output is the input seen as 4-D, and in LEARN mode two
// more tops may take the batch mean and variance [1, C, 1, 1]. PSPNet: blobs scale (its "slope"), shift
// (its "bias"), running mean and running variance, each [1, C, 1, 1], same shape out. Other dialects have no
// BN of their own: the PSPNet layout is used, the one yjxiong/caffe and most other 4-blob BN forks share.
import { float } from '../convert/onnx/graph.js';
import { CaffeToolError } from '../errors.js';
import { batchStatisticsGrad, normalizeWithBatchStatistics, reduceMean, reduceMeanSquare } from './batch-norm.js';
import { reduceToSpan, sumOver, zeros } from './broadcast-grad.js';
import { forkParam } from './fork-param.js';
import { legacyShape } from './shape.js';
import type { BlobSpec, GradContext, Gradients, LayerContext, LayerDef, OnnxContext, TrainHooks } from './types.js';

const segnetLike = (ctx: LayerContext) => ctx.dialect === 'segnet' || ctx.dialect === 'enet';

export const bn: LayerDef = {
  type: 'BN',
  param: 'bn_param',
  bottoms: [1, 1],
  tops: [1, 3],
  outputShapes(ctx) {
    const [n, c, h, w] = legacyShape(ctx.inputs[0], 'BN');
    if (!segnetLike(ctx)) {
      if (ctx.tops.length !== 1) throw new CaffeToolError(`a BN layer takes exactly 1 top in dialect ${ctx.dialect}, this one has ${ctx.tops.length}`);
      return [[...ctx.inputs[0]]];
    }
    const mode = forkParam(ctx, 'bn_param', ['segnet', 'enet']).str('bn_mode');
    if (ctx.tops.length > 1 && mode !== 'LEARN') {
      throw new CaffeToolError(`only bn_mode LEARN has the batch mean and variance tops; in ${mode} mode BN takes exactly 1 top, this one has ${ctx.tops.length}`);
    }
    return [[n, c, h, w], [1, c, 1, 1], [1, c, 1, 1]].slice(0, ctx.tops.length);
  },
  blobs(ctx) {
    const c = legacyShape(ctx.inputs[0], 'BN')[1];
    const roles = segnetLike(ctx) ? ['scale', 'shift'] : ['scale', 'shift', 'mean', 'variance'];
    return roles.map((role): BlobSpec => ({ role, shape: [1, c, 1, 1] }));
  },
  toOnnx(ctx) {
    if (segnetLike(ctx)) segnetToOnnx(ctx);
    else if (ctx.train) pspnetTrainingForward(ctx as OnnxContext & { train: TrainHooks });
    else pspnetToOnnx(ctx);
  },
  gradient(ctx) {
    return segnetLike(ctx) ? segnetGradient(ctx) : pspnetGradient(ctx);
  },
};

/**
 * SegNet/ENet: INFERENCE is y = scale * x + shift (the statistics folded in beforehand). LEARN normalizes with
 * the batch's statistics, at test too: var = E x^2 - (E x)^2 over N, H, W, and var_eps 1e-9 (hard-coded);
 * the optional tops 1 and 2 are that mean and variance [1, C, 1, 1]. The input is seen as 4-D.
 */
function segnetToOnnx(ctx: OnnxContext): void {
  const [, c, h, w] = legacyShape(ctx.inputs[0], 'BN');
  const mode = forkParam(ctx, 'bn_param', ['segnet', 'enet']).str('bn_mode');
  let x = ctx.x[0];
  if (ctx.inputs[0].length !== 4) x = ctx.g.node('Reshape', [x, ctx.g.int64([0, c, h, w])], { name: `${ctx.name}_4d` });
  ctx.train?.save('input', x);
  const scale = ctx.weight(0, [1, c, 1, 1]);
  const shift = ctx.weight(1, [1, c, 1, 1]);
  if (mode === 'LEARN') {
    const axes = [0, 2, 3];
    const mean = reduceMean(ctx, x, axes, 'mean', ctx.y[1]);
    const meanOfSquares = reduceMeanSquare(ctx, x, [ctx.inputs[0][0], c, h, w], axes, 'mean_square');
    const variance = ctx.g.node('Sub', [meanOfSquares, ctx.g.node('Mul', [mean, mean], { name: `${ctx.name}_mean_squared` })], {
      name: `${ctx.name}_variance`,
      ...(ctx.y[2] ? { outputs: [ctx.y[2]] } : {}),
    });
    const std = ctx.g.node('Sqrt', [ctx.g.node('Add', [variance, ctx.g.float32([Math.fround(1e-9)], [])], { name: `${ctx.name}_eps` })], { name: `${ctx.name}_std` });
    x = ctx.g.node('Div', [ctx.g.node('Sub', [x, mean], { name: `${ctx.name}_centre` }), std], { name: `${ctx.name}_normalize` });
    ctx.train?.save('std', std);
    ctx.train?.save('normalized', x);
  } else if (mode !== 'INFERENCE') {
    throw new CaffeToolError(`unknown bn_mode ${mode}`);
  }
  ctx.g.node('Add', [ctx.g.node('Mul', [x, scale], { name: `${ctx.name}_scale` }), shift], { outputs: [ctx.y[0]], name: ctx.name });
}

/**
 * SegNet's backward (bn_layer.cpp): scale gets sum(dy x^) and shift sum(dy) over N, H, W; with g = scale dy,
 * LEARN passes dx = (g - E g - x^ E(g x^)) / sqrt(var + 1e-9) and INFERENCE dx = g (x^ is then the input). Like
 * Caffe it ignores the gradients of the batch mean and variance tops.
 */
function segnetGradient(ctx: GradContext): Gradients {
  const input = ctx.inputs[0];
  const [n, c, h, w] = legacyShape(input, 'BN');
  const learn = forkParam(ctx, 'bn_param', ['segnet', 'enet']).str('bn_mode') === 'LEARN';
  const dy = ctx.dy[0] ?? zeros(ctx, [n, c, h, w]);
  const axes = [0, 2, 3];
  const normalized = ctx.saved(learn ? 'normalized' : 'input');
  const mul = (a: string, b: string, what: string) => ctx.g.node('Mul', [a, b], { name: `${ctx.name}_${what}` });
  const out: Gradients = { dx: [], dw: [] };
  if (ctx.needDw[0]) out.dw![0] = sumOver(ctx, mul(dy, normalized, 'dy_x'), axes, true, 'dscale');
  if (ctx.needDw[1]) out.dw![1] = sumOver(ctx, dy, axes, true, 'dshift');
  if (!ctx.needDx[0]) return out;
  let dx = mul(dy, ctx.weight(0, [1, c, 1, 1]), 'dy_scale');
  if (learn) dx = batchStatisticsGrad(ctx, dx, normalized, ctx.saved('std'), axes, 'dx_4d');
  out.dx![0] = input.length === 4 ? dx : ctx.g.node('Reshape', [dx, ctx.g.int64(input)], { name: `${ctx.name}_dx` });
  return out;
}

/**
 * PSPNet's BN in the training graph: frozen (or at TEST) it normalizes with its stored statistics and trains
 * slope and bias. Its batch-statistics training is refused: the CPU layer (var_eps, running averages by decay)
 * and the cuDNN one (eps, momentum) differ, and a model does not say which engine trained it.
 */
function pspnetTrainingForward(ctx: OnnxContext & { train: TrainHooks }): void {
  const p = forkParam(ctx, 'bn_param', ['pspnet']);
  const input = ctx.inputs[0];
  if (input.length < 2) throw new CaffeToolError(`BN normalizes over axis 1 (channels), so its input needs at least 2 axes, got ${input.length}`);
  if (!p.bool('frozen') && ctx.phase !== 'TEST') {
    throw new CaffeToolError(`BN (dialect ${ctx.dialect}) can only be trained frozen: its batch-statistics training differs between the fork's CPU and cuDNN engines (var_eps and decay, or eps and momentum), so it has no single meaning to reproduce`, {
      hint: 'set bn_param { frozen: true } to train the slope and bias with the stored statistics, or convert the BN layers to BatchNorm + Scale',
    });
  }
  const view = [input[1], ...Array<number>(input.length - 2).fill(1)];
  const op = (type: string, inputs: string[], what: string) => ctx.g.node(type, inputs, { name: `${ctx.name}_${what}` });
  const variance = op('Add', [ctx.weight(3, view), ctx.g.float32([Math.fround(p.num('eps'))], [])], 'eps');
  const std = op('Sqrt', [variance], 'std');
  const normalized = op('Div', [op('Sub', [ctx.x[0], ctx.weight(2, view)], 'centre'), std], 'normalize');
  ctx.train.save('std', std);
  ctx.train.save('normalized', normalized);
  ctx.g.node('Add', [op('Mul', [normalized, ctx.weight(0, view)], 'slope'), ctx.weight(1, view)], { outputs: ctx.y, name: ctx.name });
}

/** Frozen PSPNet BN: an affine map per channel; slope gets sum(dy x^), bias sum(dy), in the blobs' [1, C, 1, 1]. */
function pspnetGradient(ctx: GradContext): Gradients {
  const input = ctx.inputs[0];
  const c = input[1];
  const dy = ctx.dy[0]!;
  const asBlob = (v: string, what: string) => ctx.g.node('Reshape', [reduceToSpan(ctx, v, input, 1, 1, what), ctx.g.int64([1, c, 1, 1])], { name: `${ctx.name}_${what}_blob` });
  const out: Gradients = { dx: [], dw: [] };
  if (ctx.needDw[0]) out.dw![0] = asBlob(ctx.g.node('Mul', [dy, ctx.saved('normalized')], { name: `${ctx.name}_dy_x` }), 'dslope');
  if (ctx.needDw[1]) out.dw![1] = asBlob(dy, 'dbias');
  if (ctx.needDx[0]) {
    const slope = ctx.weight(0, [c, ...Array<number>(input.length - 2).fill(1)]);
    out.dx![0] = ctx.g.node('Div', [ctx.g.node('Mul', [dy, slope], { name: `${ctx.name}_dy_slope` }), ctx.saved('std')], { name: `${ctx.name}_dx` });
  }
  return out;
}

/**
 * PSPNet: blobs [slope, bias, mean, variance]; at TEST (or frozen) the stored statistics, else the batch's (biased
 * variance), normalized with bn_param.eps: y = slope * (x - mean) / sqrt(var + eps) + bias.
 */
function pspnetToOnnx(ctx: OnnxContext): void {
  const p = forkParam(ctx, 'bn_param', ['pspnet']);
  const input = ctx.inputs[0];
  if (input.length < 2) throw new CaffeToolError(`BN normalizes over axis 1 (channels), so its input needs at least 2 axes, got ${input.length}`);
  const c = input[1];
  const eps = Math.fround(p.num('eps'));
  const [slope, bias, mean, variance] = ctx.weights;
  if (p.bool('frozen') || ctx.phase === 'TEST') {
    const inputs = [ctx.x[0], ...[['slope', slope], ['bias', bias], ['mean', mean], ['var', variance]].map(([what, data]) => ctx.g.initializer(`${ctx.name}_${what}`, data as Float32Array, [c]))];
    ctx.g.node('BatchNormalization', inputs, { outputs: ctx.y, name: ctx.name, attrs: { epsilon: float(eps) } });
    return;
  }
  const shape = [c, ...Array(input.length - 2).fill(1)];
  const normalized = normalizeWithBatchStatistics(ctx, ctx.x[0], eps);
  const scaled = ctx.g.node('Mul', [normalized, ctx.g.initializer(`${ctx.name}_slope`, slope, shape)], { name: `${ctx.name}_slope` });
  ctx.g.node('Add', [scaled, ctx.g.initializer(`${ctx.name}_bias`, bias, shape)], { outputs: ctx.y, name: ctx.name });
}
