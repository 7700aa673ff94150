// Caffe's solvers (sgd_solver.cpp and its siblings): the learning rate policy (GetLearningRate), then
// ApplyUpdate: ClipGradients, and for each learnable blob Normalize (1/iter_size), Regularize (L2 or L1 decay),
// ComputeUpdateValue (SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam), then Net::Update (data -= diff).
// Every blob Caffe stores (diff, history, data) is float32 and is rounded where Caffe stores it; the few float32
// temporaries Caffe keeps between BLAS calls are rounded too (Math.fround). Rounding every single operation as well
// made no difference against PyTorch's float32 run (test/train/torch-parity) and cost the update about half again.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import { type Dialect, dialectSchema, messageInfo } from '../io/schema.js';
import { Params } from '../layers/params.js';
import { count } from '../layers/shape.js';
import { SOLVER_TYPES } from '../convert/upgrade/solver-type.js';
import type { OwnedParam } from './params.js';

export const SOLVER_KINDS = ['SGD', 'Nesterov', 'AdaGrad', 'RMSProp', 'AdaDelta', 'Adam'] as const;
export type SolverKind = (typeof SOLVER_KINDS)[number];
export const LR_POLICIES = ['fixed', 'step', 'exp', 'inv', 'multistep', 'poly', 'sigmoid'] as const;

const f = Math.fround;

/** Regularize's local_decay of a blob: weight_decay x its decay_mult, in float. */
const blobDecay = (weightDecay: number, q: OwnedParam) => f(f(weightDecay) * f(q.decayMult));

/** ComputeUpdateValue's local_rate of a blob: the iteration's rate x its lr_mult, in float. */
const localRate = (rate: number, q: OwnedParam) => f(rate * f(q.lrMult));

/**
 * Caffe's plain SGD (L2 or no decay, no clip_gradients, iter_size 1) computed inside the training graph (graph.ts):
 * per learnable blob, diff = g + decay x w, h = rate x diff + momentum x h, w -= h, on all of ONNX Runtime's
 * threads and without the gradients leaving the graph (LeNet, 16 threads: the JS loop took 2.2 ms of a 10 ms step).
 */
export interface SgdInGraph {
  momentum: number;
  /** A blob's weight decay, f(weight_decay x decay_mult). */
  decay(p: OwnedParam): number;
  /** Blobs of fewer values are stepped beside the graph. */
  minValues: number;
}

/**
 * A blob's in-graph step is six operators, and ONNX Runtime spends time between operators: on 16 threads 1.8 ms
 * of LeNet's 7.1 ms graph went between its 73 kernels, about 25 us each. The JS loop steps a bias in less (about
 * 5 ns a value); not measured on 16 cores.
 */
const SGD_IN_GRAPH_MIN_VALUES = 16384;

/** One step's inputs of the in-graph SGD: each learnable blob's local rate and its history. */
export interface SgdInputs {
  rates: Map<OwnedParam, number>;
  history: Map<OwnedParam, Float32Array>;
}

/** A blob's value and history after the in-graph SGD, to be committed by Solver.apply. */
export interface SgdResult {
  value: Float32Array;
  history: Float32Array;
}

/** The in-graph SGD the solver settings allow, or undefined (another type, clip_gradients, iter_size > 1, L1 decay). */
export function sgdInGraph(param: Message, dialect: Dialect = 'bvlc', minValues = SGD_IN_GRAPH_MIN_VALUES): SgdInGraph | undefined {
  const p = new Params(param, messageInfo(dialectSchema(dialect), 'SolverParameter'));
  const weightDecay = f(p.num('weight_decay'));
  if (solverKind(param) !== 'SGD' || p.num('clip_gradients') >= 0 || p.num('iter_size') > 1) return undefined;
  if (weightDecay !== 0 && p.str('regularization_type') !== 'L2') return undefined;
  return { momentum: f(p.num('momentum')), decay: (q) => blobDecay(weightDecay, q), minValues };
}

export class Solver {
  readonly kind: SolverKind;
  /** The iteration about to be applied (Caffe's iter_): 0 before the first update. */
  iter = 0;
  /** Whether the last learningRate() moved the multistep policy on a step (Caffe logs "MultiStep Status"). */
  stepMoved = false;
  /** ClipGradients of the last apply(): the gradients' L2 norm and the factor, where it scaled them down. */
  clipped: { norm: number; clip: number; scale: number } | undefined;
  /** Caffe's current_step_ (step and multistep policies); kept in the .solverstate. */
  currentStep = 0;
  /**
   * Caffe's history_ blobs, as the .solverstate lists them: one per learnable blob in order; AdaDelta and Adam
   * add a second set after the first (AdaDelta: the updates' running average; Adam: v after m).
   */
  readonly history: Float32Array[];
  private readonly p: Params;
  private readonly scratch: Float32Array[];

  constructor(
    param: Message,
    readonly params: OwnedParam[],
    /** The blobs' values: updated in place by apply(). */
    readonly values: Map<OwnedParam, Float32Array>,
    dialect: Dialect = 'bvlc',
  ) {
    this.p = new Params(param, messageInfo(dialectSchema(dialect), 'SolverParameter'));
    this.kind = solverKind(param);
    checkSettings(this.p, this.kind);
    const sets = this.kind === 'AdaDelta' || this.kind === 'Adam' ? 2 : 1;
    this.history = [];
    for (let s = 0; s < sets; s++) for (const q of params) this.history.push(new Float32Array(count(q.shape)));
    this.scratch = params.map((q) => new Float32Array(count(q.shape)));
    for (const q of params) {
      if (!values.get(q)) throw new CaffeToolError(`the solver has no value for param ${q.key}`);
    }
  }

  /** The shape of each history blob (the param it belongs to), as the .solverstate stores them. */
  get historyShapes(): number[][] {
    return this.history.map((_, i) => this.params[i % this.params.length].shape);
  }

  /** The solver's SolverParameter, read with the schema's defaults. */
  get param(): Params {
    return this.p;
  }

  /**
   * GetLearningRate at the current iteration. Like Caffe's, it advances currentStep for step and multistep. In C++
   * pow(float, int) is a double, so step, exp and multistep round to float once, at the end.
   */
  learningRate(): number {
    const p = this.p;
    const policy = p.str('lr_policy');
    const baseLr = f(p.num('base_lr'));
    const gamma = f(p.num('gamma'));
    const iter = this.iter;
    this.stepMoved = false;
    switch (policy) {
      case 'fixed':
        return baseLr;
      case 'step':
        this.currentStep = Math.floor(iter / p.num('stepsize'));
        return f(baseLr * Math.pow(gamma, this.currentStep));
      case 'exp':
        return f(baseLr * Math.pow(gamma, iter));
      case 'inv':
        return f(baseLr * f(Math.pow(f(1 + f(gamma * iter)), -f(p.num('power')))));
      case 'multistep': {
        // Caffe moves at most one step per call, even when iter is already past several step values.
        const values = p.list('stepvalue');
        if (this.currentStep < values.length && iter >= values[this.currentStep]) {
          this.currentStep++;
          this.stepMoved = true;
        }
        return f(baseLr * Math.pow(gamma, this.currentStep));
      }
      case 'poly':
        return f(baseLr * f(Math.pow(f(1 - f(iter / p.num('max_iter'))), f(p.num('power')))));
      case 'sigmoid':
        return f(baseLr * f(1 / f(1 + f(Math.exp(f(-gamma * f(iter - p.num('stepsize'))))))));
      default:
        throw new CaffeToolError(`Unknown learning rate policy: '${policy}'`, { where: { path: 'lr_policy' }, hint: `use one of ${LR_POLICIES.join(', ')}` });
    }
  }

  /** The in-graph SGD's inputs for the step at `rate` (learningRate() of this iteration). */
  sgdInputs(rate: number, params: Iterable<OwnedParam>): SgdInputs {
    const rates = new Map<OwnedParam, number>();
    const history = new Map<OwnedParam, Float32Array>();
    for (const q of params) {
      rates.set(q, localRate(rate, q));
      history.set(q, this.history[this.params.indexOf(q)]);
    }
    return { rates, history };
  }

  /**
   * ApplyUpdate with the gradients summed over iter_size passes (missing entries: zero, as Caffe's cleared diffs),
   * then ++iter. `updated`: the blobs the graph's SGD has already stepped: the new value is copied in (the value
   * arrays are shared with the test nets), the new history array taken. Returns the learning rate used.
   */
  apply(grads: Map<OwnedParam, Float32Array>, rate = this.learningRate(), updated?: Map<OwnedParam, SgdResult>): number {
    const given = this.params.map((q) => {
      const g = grads.get(q);
      if (g && g.length !== count(q.shape)) throw new CaffeToolError(`the gradient of ${q.key} has ${g.length} values, the param ${count(q.shape)}`);
      return g;
    });
    const clip = this.clipScale(given);
    const norm = f(1 / this.p.num('iter_size'));
    const l2 = this.p.str('regularization_type') === 'L2';
    this.params.forEach((q, i) => {
      const data = this.values.get(q)!;
      const done = updated?.get(q);
      if (done) {
        data.set(done.value);
        this.history[i] = done.history;
        return;
      }
      const decay = blobDecay(this.p.num('weight_decay'), q);
      const qRate = localRate(rate, q);
      const g = given[i];
      if (this.kind === 'SGD' && g && l2 && clip === 1 && norm === 1) {
        // The common case in one pass, with the same float32 stores as diff() then computeUpdateValue().
        sgdStep(g, data, this.history[i], decay, qRate, f(this.p.num('momentum')));
        return;
      }
      const diff = this.scratch[i];
      this.diff(diff, g, data, clip, norm, decay);
      this.computeUpdateValue(i, diff, data, qRate);
    });
    this.iter++;
    return rate;
  }

  /** ClipGradients: the factor clip_gradients / global L2 norm when the norm is above it (kept in `clipped`), else 1. */
  private clipScale(grads: (Float32Array | undefined)[]): number {
    this.clipped = undefined;
    const clip = f(this.p.num('clip_gradients'));
    if (clip < 0) return 1;
    let sumsq = 0;
    for (const g of grads) if (g) for (let j = 0; j < g.length; j++) sumsq += g[j] * g[j];
    const norm = f(Math.sqrt(sumsq));
    if (!(norm > clip)) return 1;
    this.clipped = { norm, clip, scale: f(clip / norm) };
    return this.clipped.scale;
  }

  /** The param's diff as Caffe holds it before ComputeUpdateValue: clipped, Normalize'd (1/iter_size), Regularize'd. */
  private diff(diff: Float32Array, g: Float32Array | undefined, data: Float32Array, clip: number, norm: number, decay: number): void {
    if (!g) diff.fill(0);
    else if (clip === 1 && norm === 1) diff.set(g);
    else for (let j = 0; j < diff.length; j++) diff[j] = f(g[j] * clip) * norm;
    if (!decay) return;
    if (this.p.str('regularization_type') === 'L2') {
      for (let j = 0; j < diff.length; j++) diff[j] += decay * data[j];
    } else {
      for (let j = 0; j < diff.length; j++) diff[j] += decay * Math.sign(data[j]);
    }
  }

  /** ComputeUpdateValue for the solver's type, then Net::Update (data -= the step), in one pass. */
  private computeUpdateValue(i: number, diff: Float32Array, data: Float32Array, localRate: number): void {
    const p = this.p;
    const h = this.history[i];
    const n = diff.length;
    const momentum = f(p.num('momentum'));
    const delta = f(p.num('delta'));
    switch (this.kind) {
      case 'SGD':
        // The learning rate goes inside the history: h = momentum*h + lr*g; the step is h.
        for (let j = 0; j < n; j++) {
          h[j] = localRate * diff[j] + momentum * h[j];
          data[j] -= h[j];
        }
        break;
      case 'Nesterov':
        // Step back the old momentum, then over-step the new one: (1+m)*h_new - m*h_old.
        for (let j = 0; j < n; j++) {
          const old = h[j];
          h[j] = localRate * diff[j] + momentum * old;
          data[j] -= f((1 + momentum) * h[j] - momentum * old);
        }
        break;
      case 'AdaGrad':
        for (let j = 0; j < n; j++) {
          h[j] += f(diff[j] * diff[j]);
          data[j] -= f(localRate * f(diff[j] / f(Math.sqrt(h[j]) + delta)));
        }
        break;
      case 'RMSProp': {
        const decay = f(p.num('rms_decay'));
        const keep = f(1 - decay);
        for (let j = 0; j < n; j++) {
          h[j] = keep * f(diff[j] * diff[j]) + decay * h[j];
          data[j] -= f(localRate * f(diff[j] / f(Math.sqrt(h[j]) + delta)));
        }
        break;
      }
      case 'AdaDelta': {
        // momentum is the decay of both running averages; the learning rate multiplies the step last, and the
        // updates' history holds the step before that scaling (Caffe's order).
        const u = this.history[this.params.length + i];
        const keep = f(1 - momentum);
        for (let j = 0; j < n; j++) {
          h[j] = keep * f(diff[j] * diff[j]) + momentum * h[j];
          const step = f(diff[j] * f(Math.sqrt(f(f(u[j] + delta) / f(h[j] + delta)))));
          u[j] = keep * f(step * step) + momentum * u[j];
          data[j] -= f(localRate * step);
        }
        break;
      }
      case 'Adam': {
        const v = this.history[this.params.length + i];
        const beta1 = momentum;
        const beta2 = f(p.num('momentum2'));
        const t = this.iter + 1;
        // pow(float, int) is a double in C++, so Caffe rounds the correction to float once, at the end.
        const correction = f(Math.sqrt(1 - Math.pow(beta2, t)) / (1 - Math.pow(beta1, t)));
        const scale = f(localRate * correction);
        const [k1, k2] = [f(1 - beta1), f(1 - beta2)];
        for (let j = 0; j < n; j++) {
          h[j] = k1 * diff[j] + beta1 * h[j];
          v[j] = k2 * f(diff[j] * diff[j]) + beta2 * v[j];
          data[j] -= f(scale * f(h[j] / f(Math.sqrt(v[j]) + delta)));
        }
        break;
      }
    }
  }
}

/** SGD with L2 decay, no clipping, iter_size 1: diff = g + decay*w; h = lr*diff + momentum*h; w -= h. */
function sgdStep(g: Float32Array, data: Float32Array, h: Float32Array, decay: number, localRate: number, momentum: number): void {
  for (let j = 0; j < data.length; j++) {
    const diff = f(g[j] + decay * data[j]);
    const step = f(localRate * diff + momentum * h[j]);
    h[j] = step;
    data[j] -= step;
  }
}

/** The solver type: `type`, or the deprecated `solver_type` enum when only it is given. */
function solverKind(param: Message): SolverKind {
  let type = param.type as string | undefined;
  if (type === undefined && param.solver_type !== undefined) {
    const old = param.solver_type as string | number;
    type = typeof old === 'string' ? SOLVER_TYPES[old] : Object.values(SOLVER_TYPES)[old];
  }
  type ??= 'SGD';
  const kind = SOLVER_KINDS.find((k) => k === type);
  if (!kind) throw new CaffeToolError(`Unknown solver type: '${type}'`, { where: { path: 'type' }, hint: `Caffe's solvers are ${SOLVER_KINDS.join(', ')}` });
  return kind;
}

/** The settings Caffe's solvers refuse (CHECKs in solver.cpp, sgd_solver.cpp and sgd_solvers.hpp). */
function checkSettings(p: Params, kind: SolverKind): void {
  const refuse = (path: string, message: string, hint?: string) => {
    throw new CaffeToolError(message, { where: { path }, hint });
  };
  if (p.num('iter_size') < 1) refuse('iter_size', `iter_size ${p.num('iter_size')} must be 1 or more: it is the number of batches whose gradients one update sums`);
  const policy = p.str('lr_policy');
  if (!(LR_POLICIES as readonly string[]).includes(policy)) {
    refuse('lr_policy', policy ? `Unknown learning rate policy: '${policy}'` : 'the solver gives no lr_policy', `use one of ${LR_POLICIES.join(', ')}`);
  }
  if (['step', 'exp', 'inv', 'multistep', 'sigmoid'].includes(policy) && p.num('gamma') < 0) refuse('gamma', `lr_policy ${policy} needs gamma >= 0, got ${p.num('gamma')}`);
  if ((policy === 'step' || policy === 'sigmoid') && !(p.num('stepsize') > 0)) refuse('stepsize', `lr_policy ${policy} needs stepsize > 0, got ${p.num('stepsize')}`);
  if (policy === 'poly' && !(p.num('max_iter') > 0)) refuse('max_iter', `lr_policy poly needs max_iter > 0, got ${p.num('max_iter')}`);
  // Caffe's Regularize only reads the type where a blob has decay to apply.
  const reg = p.str('regularization_type');
  if (reg !== 'L2' && reg !== 'L1' && p.num('weight_decay') !== 0) refuse('regularization_type', `Unknown regularization type: '${reg}'`, 'use L2 or L1');
  if ((kind === 'AdaGrad' || kind === 'RMSProp') && p.num('momentum') !== 0) {
    refuse('momentum', `Momentum cannot be used with ${kind} (momentum ${p.num('momentum')})`, 'remove momentum from the solver');
  }
  if (kind === 'RMSProp') {
    const d = p.num('rms_decay');
    if (!(d >= 0 && d < 1)) refuse('rms_decay', `rms_decay should lie between 0 and 1, got ${d}`);
  }
}
