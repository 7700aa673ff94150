// Batch normalization in the training graph: BVLC BatchNorm's output, input gradient and running statistics over
// steps against fixtures/train/batch_norm.json (numpy and torch autograd, fixtures/make_batch_norm_train.py), its
// backward and the forks' BN against finite differences, and the variants caffe-tool refuses to train.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkGradients, type GradCheckOptions } from './gradcheck.js';
import { readFixture } from '../helpers.js';
import { CaffeToolError } from '../../src/errors.js';
import { parseCaffeText } from '../../src/io/files.js';
import type { Dialect } from '../../src/io/schema.js';
import type { Shape } from '../../src/layers/types.js';
import { buildNet } from '../../src/net/net.js';
import { TrainingEngine } from '../../src/train/engine.js';

interface Stats { mean: number[]; variance: number[]; scale_factor: number[] }
interface Case {
  name: string;
  shape: number[];
  param: string;
  start: Stats;
  r: number[];
  steps: { x: number[]; y: number[]; dx: number[]; after: Stats }[];
}

interface NetCase {
  x: number[]; label: number[]; gamma: number[]; beta: number[];
  loss: number; dgamma: number[]; dbeta: number[]; start: Stats; after: Stats;
}

const fixture = JSON.parse(readFixture('train', 'batch_norm.json').toString()) as { cases: Case[]; net: NetCase };

function closeTo(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]}, expected ${expected[i]}`);
  }
}

async function expectAgree(layer: string, inputs: Record<string, Shape>, opts: GradCheckOptions = {}): Promise<void> {
  const { checked, failures } = await checkGradients(layer, inputs, opts);
  assert.ok(checked > 0, 'nothing was checked');
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${checked} gradients disagree`);
}

function net(layer: string, shape: number[], dialect?: Dialect, phase: 'TRAIN' | 'TEST' = 'TRAIN') {
  const text = `input: "x" input_shape { ${shape.map((d) => `dim: ${d}`).join(' ')} }\nlayer { name: "bn" ${layer} }\n`;
  const file = parseCaffeText(text, { kinds: ['net'], dialect });
  return buildNet(file.message, { dialect: dialect ?? file.dialect, phase });
}

describe('BatchNorm training steps against numpy / torch', () => {
  for (const c of fixture.cases) {
    it(c.name, async () => {
      const start = new Map([
        ['bn/0', Float32Array.from(c.start.mean)],
        ['bn/1', Float32Array.from(c.start.variance)],
        ['bn/2', Float32Array.from(c.start.scale_factor)],
      ]);
      const n = net(`type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { ${c.param} }`, c.shape);
      const engine = await TrainingEngine.create(n, { backward: 'external', values: start });
      try {
        const byRole = (role: string) => engine.values.get(engine.params.find((p) => p.role === role)!)!;
        for (const [k, step] of c.steps.entries()) {
          const { outputs, dataGrads } = await engine.step({ x: Float32Array.from(step.x), 'grad_in:y': Float32Array.from(c.r) });
          closeTo(outputs.get('y')!, step.y, 2e-5, `step ${k} y`);
          closeTo(dataGrads.get('x')!, step.dx, 2e-5, `step ${k} dx`);
          closeTo(byRole('mean'), step.after.mean, 1e-6, `step ${k} mean`);
          closeTo(byRole('variance'), step.after.variance, 1e-6, `step ${k} variance`);
          closeTo(byRole('scale_factor'), step.after.scale_factor, 1e-6, `step ${k} scale factor`);
        }
      } finally {
        await engine.release();
      }
    });
  }
});

describe('BatchNorm + Scale + ReLU, all in place, under a EuclideanLoss: one step against torch', () => {
  it('loss, Scale gradients and running statistics', async () => {
    const f = fixture.net;
    const text = `input: "x" input_shape { dim: 2 dim: 2 dim: 2 dim: 2 }
input: "label" input_shape { dim: 2 dim: 2 dim: 2 dim: 2 }
layer { name: "bn" type: "BatchNorm" bottom: "x" top: "x" }
layer { name: "scale" type: "Scale" bottom: "x" top: "x" scale_param { bias_term: true } }
layer { name: "relu" type: "ReLU" bottom: "x" top: "x" }
layer { name: "loss" type: "EuclideanLoss" bottom: "x" bottom: "label" top: "loss" }
`;
    const n = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
    const values = new Map([
      ['bn/0', Float32Array.from(f.start.mean)], ['bn/1', Float32Array.from(f.start.variance)], ['bn/2', Float32Array.from(f.start.scale_factor)],
      ['scale/0', Float32Array.from(f.gamma)], ['scale/1', Float32Array.from(f.beta)],
    ]);
    const engine = await TrainingEngine.create(n, { values });
    try {
      const { loss, grads } = await engine.step({ x: Float32Array.from(f.x), label: Float32Array.from(f.label) });
      const param = (key: string) => engine.params.find((p) => p.key === key)!;
      closeTo([loss], [f.loss], 1e-5, 'loss');
      closeTo(grads.get(param('scale/0'))!, f.dgamma, 1e-5, 'd scale');
      closeTo(grads.get(param('scale/1'))!, f.dbeta, 1e-5, 'd bias');
      assert.equal(grads.has(param('bn/0')), false, 'the statistics get no gradient');
      closeTo(engine.values.get(param('bn/0'))!, f.after.mean, 1e-6, 'mean');
      closeTo(engine.values.get(param('bn/1'))!, f.after.variance, 1e-6, 'variance');
      closeTo(engine.values.get(param('bn/2'))!, f.after.scale_factor, 1e-6, 'scale factor');
      // Deferred (the training loop checks the loss first): the blobs keep their values until committed.
      const before = Float32Array.from(engine.values.get(param('bn/0'))!);
      const r = await engine.step({ x: Float32Array.from(f.x), label: Float32Array.from(f.label) }, undefined, { deferStatistics: true });
      assert.deepEqual(engine.values.get(param('bn/0')), before);
      assert.notDeepEqual(r.statistics.get(param('bn/0')), before);
      engine.commitStatistics(r.statistics);
      assert.deepEqual(engine.values.get(param('bn/0')), r.statistics.get(param('bn/0')));
    } finally {
      await engine.release();
    }
  });
});

describe('gradients: BatchNorm', () => {
  it('batch statistics, 4-D', () => expectAgree('type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { eps: 0.001 }', { x: [2, 3, 2, 2] }));
  it('batch statistics, 2-D', () => expectAgree('type: "BatchNorm" bottom: "x" top: "y"', { x: [5, 2] }));
  it('use_global_stats: the stored statistics, a fixed affine map', () => expectAgree('type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { use_global_stats: true }', { x: [2, 3, 2] }, {
    weights: [Float32Array.of(0.2, -0.4, 0.6), Float32Array.of(1.2, 0.6, 2.4), Float32Array.of(1.5)],
  }));
});

describe("NVCaffe's 5-blob BatchNorm in a TEST-phase graph", () => {
  it('normalizes with the stored statistics as they are (no 1/s), then its own scale and bias; gradients by hand', async () => {
    const n = net('type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { scale_bias: true }', [2, 2], 'nvcaffe', 'TEST');
    const [mean, variance, scale, bias] = [[0.5, -1], [1, 4], [2, 3], [0.1, 0.2]];
    const values = new Map([[0, mean], [1, variance], [2, [7]], [3, scale], [4, bias]].map(([i, v]) => [`bn/${i as number}`, Float32Array.from(v as number[])]));
    const engine = await TrainingEngine.create(n, { backward: 'external', values });
    try {
      const x = [1, 2, -1, 0.5];
      const r = [0.5, -1, 2, 1];
      const { outputs, dataGrads, grads } = await engine.step({ x: Float32Array.from(x), 'grad_in:y': Float32Array.from(r) });
      // eps: NVCaffe raises the default 1e-5 to max(eps, 1e-5), the same here.
      const std = variance.map((v) => Math.sqrt(v + 1e-5));
      const xhat = x.map((v, i) => (v - mean[i % 2]) / std[i % 2]);
      closeTo(outputs.get('y')!, xhat.map((v, i) => scale[i % 2] * v + bias[i % 2]), 1e-6, 'y');
      closeTo(dataGrads.get('x')!, r.map((g, i) => (g * scale[i % 2]) / std[i % 2]), 1e-6, 'dx');
      const byRole = (role: string) => grads.get(engine.params.find((p) => p.role === role)!)!;
      closeTo(byRole('scale'), [0, 1].map((c) => r[c] * xhat[c] + r[c + 2] * xhat[c + 2]), 1e-6, 'd scale');
      closeTo(byRole('bias'), [0, 1].map((c) => r[c] + r[c + 2]), 1e-6, 'd bias');
    } finally {
      await engine.release();
    }
  });
});

describe('gradients: BN of the forks', () => {
  it('SegNet LEARN: batch statistics, learned scale and shift', () => expectAgree('type: "BN" bottom: "x" top: "y" bn_param { bn_mode: LEARN }', { x: [2, 3, 2, 2] }, { dialect: 'segnet' }));
  it('SegNet LEARN on a 2-D input (seen as 4-D)', () => expectAgree('type: "BN" bottom: "x" top: "y" bn_param { bn_mode: LEARN }', { x: [4, 3] }, { dialect: 'segnet' }));
  it('SegNet INFERENCE: scale x + shift', () => expectAgree('type: "BN" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE }', { x: [2, 3, 2, 2] }, { dialect: 'segnet' }));
  it('PSPNet frozen: stored statistics, learned slope and bias', () => expectAgree('type: "BN" bottom: "x" top: "y" bn_param { frozen: true eps: 0.0001 }', { x: [2, 3, 2, 2] }, {
    dialect: 'pspnet',
    weights: [Float32Array.of(0.5, -1, 2), Float32Array.of(0.1, 0.2, 0.3), Float32Array.of(0.3, -0.1, 0.2), Float32Array.of(0.5, 1.5, 0.8)],
  }));
});

describe('batch normalization variants that are refused for training', () => {
  async function refusal(layer: string, dialect: Dialect, blobs: number[][]): Promise<CaffeToolError> {
    const n = net(layer, [2, 3, 2, 2], dialect);
    const values = new Map(blobs.map((b, i) => [`bn/${i}`, Float32Array.from(b)]));
    const err = await TrainingEngine.create(n, { backward: 'external', values }).then(
      async (e) => { await e.release(); return undefined; },
      (e: unknown) => e,
    );
    assert.ok(err instanceof CaffeToolError, `expected a CaffeToolError, got ${String(err)}`);
    return err;
  }

  it('PSPNet BN with batch statistics names frozen as the way out', async () => {
    const err = await refusal('type: "BN" bottom: "x" top: "y"', 'pspnet', [[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]]);
    assert.match(err.message, /only be trained frozen/);
    assert.match(err.hint ?? '', /frozen: true/);
  });

  it("NVCaffe's BatchNorm at TRAIN (its update counts iterations outside the blobs)", async () => {
    const err = await refusal('type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { scale_bias: true }', 'nvcaffe', [[0, 0, 0], [1, 1, 1], [1], [1, 1, 1], [0, 0, 0]]);
    assert.match(err.message, /NVCaffe's BatchNorm cannot be trained/);
  });
});
