// Caffe's update rules and learning rate policies against values worked out by hand (the arithmetic is in the
// comments), two or three steps each, with a constant gradient so every number can be followed on paper.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaffeToolError } from '../../src/errors.js';
import { parseCaffeText } from '../../src/io/files.js';
import { buildNet, type NetLayer } from '../../src/net/net.js';
import { buildTrainingGraph } from '../../src/train/graph.js';
import type { OwnedParam } from '../../src/train/params.js';
import { Solver, sgdInGraph } from '../../src/train/solver.js';

function param(key: string, n: number, lrMult = 1, decayMult = 1): OwnedParam {
  return { key, layer: { name: key } as NetLayer, index: 0, role: 'weight', shape: [n], lrMult, decayMult };
}

function solver(text: string, start: number[][], mults: [number, number][] = []): { s: Solver; ps: OwnedParam[]; w: Float32Array[] } {
  const msg = parseCaffeText(text, { kinds: ['solver'], dialect: 'bvlc' }).message;
  const ps = start.map((v, i) => param(`p${i}`, v.length, ...(mults[i] ?? [1, 1])));
  const w = start.map((v) => Float32Array.from(v));
  const s = new Solver(msg, ps, new Map(ps.map((p, i) => [p, w[i]])));
  return { s, ps, w };
}

function steps(text: string, start: number[], grad: number[], n: number, mults?: [number, number]): Float32Array[] {
  const { s, ps, w } = solver(text, [start], mults ? [mults] : []);
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    s.apply(new Map([[ps[0], Float32Array.from(grad)]]));
    out.push(Float32Array.from(w[0]));
  }
  return out;
}

function close(actual: ArrayLike<number>, expected: number[], tol = 2e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

const G = [0.5, -1];
const W = [1, -2];

describe('solver: update rules', () => {
  it('SGD: lr inside the momentum history, L2 decay added to the gradient', () => {
    const [w1, w2, w3] = steps('type: "SGD" base_lr: 0.1 lr_policy: "fixed" momentum: 0.9 weight_decay: 0.1', W, G, 3);
    // 1: diff = g + 0.1 w = [0.6, -1.2]; h = 0.1 diff = [0.06, -0.12]; w = [0.94, -1.88]
    close(w1, [0.94, -1.88]);
    // 2: diff = [0.594, -1.188]; h = 0.0594 + 0.054, -0.1188 - 0.108 = [0.1134, -0.2268]
    close(w2, [0.8266, -1.6532]);
    // 3: diff = [0.58266, -1.16532]; h = 0.058266 + 0.10206, -0.116532 - 0.20412
    close(w3, [0.666274, -1.332548]);
  });

  it('SGD: lr_mult and decay_mult scale the rate and the decay of their blob', () => {
    // local rate 0.1*2, decay 0.1*0 : w = w - 0.2 g
    const [w1, w2] = steps('base_lr: 0.1 lr_policy: "fixed" weight_decay: 0.1', W, G, 2, [2, 0]);
    close(w1, [0.9, -1.8]);
    close(w2, [0.8, -1.6]);
  });

  it('SGD: L1 decay adds weight_decay * sign(w)', () => {
    // diff = g + 0.5 sign(w) = [1, -1.5]; w = w - 0.1 diff
    const [w1] = steps('base_lr: 0.1 lr_policy: "fixed" weight_decay: 0.5 regularization_type: "L1"', W, G, 1);
    close(w1, [0.9, -1.85]);
  });

  it('Nesterov: (1 + m) h_new - m h_old', () => {
    const [w1, w2] = steps('type: "Nesterov" base_lr: 0.1 lr_policy: "fixed" momentum: 0.9', W, G, 2);
    // 1: h = [0.05, -0.1]; diff = 1.9 h = [0.095, -0.19]
    close(w1, [0.905, -1.81]);
    // 2: h = [0.095, -0.19]; diff = 1.9*0.095 - 0.9*0.05 = 0.1355, 1.9*-0.19 + 0.9*0.1 = -0.271
    close(w2, [0.7695, -1.539]);
  });

  it('AdaGrad: h += g^2; step = lr g / (sqrt(h) + delta)', () => {
    const [w1, w2] = steps('type: "AdaGrad" base_lr: 0.1 lr_policy: "fixed" delta: 0.5', W, G, 2);
    // 1: h = [0.25, 1]; 0.05/(0.5+0.5) = 0.05, -0.1/(1+0.5) = -0.0666667
    close(w1, [0.95, -1.9333333]);
    // 2: h = [0.5, 2]; 0.05/(0.7071068+0.5) = 0.0414214, -0.1/(1.4142136+0.5) = -0.0522408
    close(w2, [0.9085786, -1.8810925]);
  });

  it('RMSProp: h = decay h + (1-decay) g^2', () => {
    const [w1, w2] = steps('type: "RMSProp" base_lr: 0.1 lr_policy: "fixed" rms_decay: 0.9 delta: 0.5', W, G, 2);
    // 1: h = [0.025, 0.1]; 0.05/(0.1581139+0.5) = 0.0759747, -0.1/(0.3162278+0.5) = -0.1225148
    close(w1, [0.9240253, -1.8774852]);
    // 2: h = [0.0475, 0.19]; 0.05/(0.2179449+0.5) = 0.0696432, -0.1/(0.4358899+0.5) = -0.1068502
    close(w2, [0.8543821, -1.770635]);
  });

  it('Adam: with a constant gradient the bias-corrected step is lr * sign(g) (delta aside)', () => {
    const { s, ps, w } = solver('type: "Adam" base_lr: 0.1 lr_policy: "fixed" momentum: 0.9 momentum2: 0.999 delta: 1e-8', [W]);
    for (const expected of [[0.9, -1.9], [0.8, -1.8], [0.7, -1.7]]) {
      s.apply(new Map([[ps[0], Float32Array.from(G)]]));
      close(w[0], expected, 1e-5);
    }
    // m and v are two history sets, m first: after 3 steps m = (1 - 0.9^3) g, v = (1 - 0.999^3) g^2.
    assert.equal(s.history.length, 2);
    close(s.history[0], [0.271 * 0.5, -0.271], 1e-5);
    close(s.history[1], [0.002997003 * 0.25, 0.002997003], 1e-5);
  });

  it('Adam: the first step with a gradient that changes', () => {
    // t=1: m = 0.1 g, v = 0.001 g^2, correction sqrt(0.001)/0.1: step = lr g / |g| = 0.1 sign(g) exactly as above;
    // t=2 with g2 = [0.1, 0.1]: m = [0.1*0.1 + 0.9*0.05, 0.01 - 0.09] = [0.055, -0.08]
    // v = [0.001*0.01 + 0.999*0.00025, 0.00001 + 0.000999] = [0.00025975, 0.001009]
    // correction = sqrt(1 - 0.998001) / (1 - 0.81) = 0.0447102 / 0.19 = 0.2353167
    // step = 0.1*0.2353167 * [0.055/0.0161168, -0.08/0.0317648] = [0.0803040, -0.0592648]
    const { s, ps, w } = solver('type: "Adam" base_lr: 0.1 lr_policy: "fixed" momentum: 0.9', [W]);
    s.apply(new Map([[ps[0], Float32Array.from(G)]]));
    s.apply(new Map([[ps[0], Float32Array.from([0.1, 0.1])]]));
    close(w[0], [0.9 - 0.080304, -1.9 + 0.0592648], 2e-6);
  });

  it('Adam: the bias correction is rounded to float once (numpy: 0.23531516 at t=2, 57 ulps from rounding each pow)', () => {
    // With a zero gradient m and v stay 0 and the step is 0; with g = 1 on both steps m/(sqrt(v)+delta) is fixed
    // by hand below, so the weight moves by exactly lr x correction x that ratio at t = 2.
    const { s, ps, w } = solver('type: "Adam" base_lr: 1 lr_policy: "fixed" momentum: 0.9 delta: 0', [[0]]);
    s.apply(new Map([[ps[0], Float32Array.from([1])]]));
    const before = w[0][0];
    s.apply(new Map([[ps[0], Float32Array.from([1])]]));
    // t=2: m = 0.19 (float32: 0.1 + 0.9*0.1), v = 0.001999 (0.001 + 0.999*0.001): m/sqrt(v) = 4.2495...
    const f = Math.fround;
    const m = f(f(f(1 - f(0.9)) * 1) + f(f(0.9) * f(f(1 - f(0.9)) * 1)));
    const v = f(f(f(1 - f(0.999)) * 1) + f(f(0.999) * f(f(1 - f(0.999)) * 1)));
    const moved = before - w[0][0];
    const ratio = m / Math.sqrt(v);
    close([moved / ratio], [0.23531516], 2e-7);
  });

  it('AdaDelta: momentum decays both averages, lr scales last, the update history holds the unscaled step', () => {
    const { s, ps, w } = solver('type: "AdaDelta" base_lr: 2 lr_policy: "fixed" momentum: 0.5 delta: 0.25', [[1]]);
    // 1: g = 1: h = 0.5; step = 1 * sqrt((0 + 0.25)/(0.5 + 0.25)) = 0.5773503; u = 0.5 * 0.3333333 = 0.1666667
    //    w = 1 - 2*0.5773503 = -0.1547005
    s.apply(new Map([[ps[0], Float32Array.from([1])]]));
    close(w[0], [-0.1547005]);
    close(s.history[0], [0.5]);
    close(s.history[1], [0.1666667]);
    // 2: g = 1: h = 0.75; step = sqrt((0.1666667 + 0.25)/(0.75 + 0.25)) = 0.6454972; w = -0.1547005 - 1.2909944
    s.apply(new Map([[ps[0], Float32Array.from([1])]]));
    close(w[0], [-1.4456949]);
    close(s.history[1], [0.5 * 0.1666667 + 0.5 * 0.4166667]);
  });

  it('clip_gradients scales all blobs by clip / global L2 norm when the norm is above it', () => {
    // norm of [3] and [4] together is 5 > 1: diffs become 0.6 and 0.8.
    const { s, ps, w } = solver('base_lr: 1 lr_policy: "fixed" clip_gradients: 1', [[0], [0]]);
    s.apply(new Map([[ps[0], Float32Array.from([3])], [ps[1], Float32Array.from([4])]]));
    close(w[0], [-0.6]);
    close(w[1], [-0.8]);
    s.apply(new Map([[ps[0], Float32Array.from([0.3])], [ps[1], Float32Array.from([0.4])]]));
    close(w[0], [-0.9]);
    close(w[1], [-1.2]);
  });

  it('iter_size divides the summed gradient, and a blob without a gradient gets none', () => {
    const { s, ps, w } = solver('base_lr: 1 lr_policy: "fixed" iter_size: 4', [[1], [5]]);
    s.apply(new Map([[ps[0], Float32Array.from([2])]]));
    close(w[0], [0.5]);
    close(w[1], [5]);
  });
});

describe('solver: the SGD the training graph runs', () => {
  const spec = (text: string) => sgdInGraph(parseCaffeText(text, { kinds: ['solver'], dialect: 'bvlc' }).message);
  it('plain SGD with L2 or no decay: momentum and each blob\'s decay (weight_decay x decay_mult, in float)', () => {
    const s = spec('base_lr: 0.1 momentum: 0.9 weight_decay: 0.0005 lr_policy: "fixed"');
    assert.ok(s);
    assert.equal(s.momentum, Math.fround(0.9));
    assert.equal(s.decay(param('a', 1, 1, 2)), Math.fround(Math.fround(0.0005) * 2));
    assert.equal(s.decay(param('b', 1, 1, 0)), 0);
    assert.ok(spec('base_lr: 0.1 lr_policy: "step" gamma: 0.1 stepsize: 10 regularization_type: "L1"'), 'L1 without weight_decay has nothing to apply');
  });
  it('stays beside the graph for the other solvers, clip_gradients, iter_size above 1 and L1 decay', () => {
    for (const extra of ['type: "Nesterov"', 'type: "Adam"', 'clip_gradients: 0', 'iter_size: 2', 'weight_decay: 0.001 regularization_type: "L1"', 'solver_type: NESTEROV']) {
      assert.equal(spec(`base_lr: 0.1 momentum: 0.9 lr_policy: "fixed" ${extra}`), undefined, extra);
    }
  });
  it('steps the large blobs in the graph, the small ones (biases) beside it', () => {
    const text = `input: "x" input_shape { dim: 2 dim: 300 }\ninput: "t" input_shape { dim: 2 dim: 100 }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 100 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }\n`;
    const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
    const graph = buildTrainingGraph(net, { sgd: spec('base_lr: 0.1 momentum: 0.9 lr_policy: "fixed"') });
    assert.deepEqual([...graph.sgd.keys()].map((p) => p.key), ['ip/0'], 'the 30000 weights');
    assert.deepEqual([...graph.grads.keys()].map((p) => p.key), ['ip/1'], 'the 100 biases');
  });
  it('its inputs: each blob\'s local rate f(rate x lr_mult) and the solver\'s history array', () => {
    const { s, ps } = solver('base_lr: 0.1 momentum: 0.9 lr_policy: "fixed"', [[1], [2]], [[1, 1], [0.3, 1]]);
    const inputs = s.sgdInputs(0.1, ps);
    assert.deepEqual([...inputs.rates.values()], [Math.fround(0.1), Math.fround(0.1 * Math.fround(0.3))]);
    assert.equal(inputs.history.get(ps[1]), s.history[1]);
  });
  it('apply() copies a stepped value into the blob\'s own array and takes the new history', () => {
    const { s, ps, w } = solver('base_lr: 0.1 momentum: 0.9 lr_policy: "fixed"', [[1, 2]]);
    const stepped = { value: Float32Array.of(0.5, 1.5), history: Float32Array.of(0.5, 0.5) };
    s.apply(new Map(), 0.1, new Map([[ps[0], stepped]]));
    assert.deepEqual([...w[0]], [0.5, 1.5]);
    assert.equal(s.history[0], stepped.history);
    assert.equal(s.iter, 1);
  });
});

describe('solver: learning rate policies', () => {
  function rates(text: string, iters: number[]): number[] {
    const { s } = solver(text, [[0]]);
    return iters.map((i) => {
      s.iter = i;
      return s.learningRate();
    });
  }

  it('fixed, step, exp, inv', () => {
    close(rates('base_lr: 0.5 lr_policy: "fixed"', [0, 100]), [0.5, 0.5]);
    close(rates('base_lr: 0.01 lr_policy: "step" gamma: 0.1 stepsize: 10', [0, 9, 10, 25]), [0.01, 0.01, 0.001, 0.0001]);
    close(rates('base_lr: 0.8 lr_policy: "exp" gamma: 0.5', [0, 3]), [0.8, 0.1]);
    // (1 + 1e-4 * 10000)^-0.75 = 2^-0.75 = 0.5946036
    close(rates('base_lr: 1 lr_policy: "inv" gamma: 0.0001 power: 0.75', [0, 10000]), [1, 0.5946036]);
  });

  it('step, exp and multistep round to float once, as C++ does with pow(float, int) computed in double', () => {
    // numpy: float32(float32(0.1) * float64(float32(0.1))**6) = 1.0000001e-07; rounding pow first gives 1.00000015e-07.
    const want = Math.fround(1.0000001e-7);
    assert.equal(rates('base_lr: 0.1 lr_policy: "step" gamma: 0.1 stepsize: 1', [6])[0], want);
    assert.equal(rates('base_lr: 0.1 lr_policy: "exp" gamma: 0.1', [6])[0], want);
    const multi = rates(`base_lr: 0.1 lr_policy: "multistep" gamma: 0.1 ${[1, 2, 3, 4, 5, 6].map((v) => `stepvalue: ${v}`).join(' ')}`, [1, 2, 3, 4, 5, 6]);
    assert.equal(multi[5], want);
  });

  it('multistep moves one step per call once iter reaches the next step value', () => {
    close(rates('base_lr: 1 lr_policy: "multistep" gamma: 0.5 stepvalue: 2 stepvalue: 4', [0, 1, 2, 3, 4, 5]), [1, 1, 0.5, 0.5, 0.25, 0.25]);
    // Caffe's quirk: jumping past both step values only moves one step on the first call.
    close(rates('base_lr: 1 lr_policy: "multistep" gamma: 0.5 stepvalue: 2 stepvalue: 4', [10, 10, 10]), [0.5, 0.25, 0.25]);
  });

  it('poly and sigmoid', () => {
    // (1 - 5/10)^2 = 0.25
    close(rates('base_lr: 2 lr_policy: "poly" power: 2 max_iter: 10', [0, 5, 10]), [2, 0.5, 0]);
    // 1/(1 + exp(-1 * (iter - 5))): 0.5 at 5, 1/(1+e^5) = 0.0066929 at 0
    close(rates('base_lr: 1 lr_policy: "sigmoid" gamma: 1 stepsize: 5', [5, 0]), [0.5, 0.0066929]);
  });

  it('the step policy is applied by apply() at the iteration being run', () => {
    const w = steps('base_lr: 1 lr_policy: "step" gamma: 0.1 stepsize: 2', [0], [1], 3);
    close(w.map((v) => v[0]), [-1, -2, -2.1]);
  });
});

describe('solver: settings Caffe refuses', () => {
  const refused = (text: string, path: string) => {
    assert.throws(() => solver(text, [[0]]), (e: unknown) => e instanceof CaffeToolError && e.where.path === path);
  };
  it('momentum with AdaGrad or RMSProp', () => {
    refused('type: "AdaGrad" base_lr: 1 lr_policy: "fixed" momentum: 0.9', 'momentum');
    refused('type: "RMSProp" base_lr: 1 lr_policy: "fixed" momentum: 0.9', 'momentum');
  });
  it('rms_decay outside [0, 1), iter_size below 1, unknown policy, type or regularization', () => {
    refused('type: "RMSProp" base_lr: 1 lr_policy: "fixed" rms_decay: 1', 'rms_decay');
    refused('base_lr: 1 lr_policy: "fixed" iter_size: 0', 'iter_size');
    refused('base_lr: 1 lr_policy: "cosine"', 'lr_policy');
    refused('base_lr: 1', 'lr_policy');
    refused('type: "Lion" base_lr: 1 lr_policy: "fixed"', 'type');
    refused('base_lr: 1 lr_policy: "fixed" weight_decay: 0.1 regularization_type: "L3"', 'regularization_type');
    refused('base_lr: 1 lr_policy: "step" gamma: 0.1', 'stepsize');
  });
  it('an unknown regularization_type is only refused where there is decay to apply, as Regularize reads it', () => {
    const { s, ps, w } = solver('base_lr: 1 lr_policy: "fixed" regularization_type: "L3"', [[2]]);
    s.apply(new Map([[ps[0], Float32Array.from([0.5])]]));
    close(w[0], [1.5]);
  });
  it('the old solver_type enum is read when type is absent', () => {
    const { s } = solver('solver_type: NESTEROV base_lr: 1 lr_policy: "fixed"', [[0]]);
    assert.equal(s.kind, 'Nesterov');
  });
});
