// The backward of the element-wise, routing and broadcasting layers against finite differences of their forward
// (test/train/gradcheck.ts), on small random inputs, as Caffe's layer tests do with GradientChecker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkGradients, type GradCheckOptions } from './gradcheck.js';
import { parseCaffeText } from '../../src/io/files.js';
import type { Shape } from '../../src/layers/types.js';
import { buildNet } from '../../src/net/net.js';
import { TrainingEngine } from '../../src/train/engine.js';

async function expectAgree(layer: string, inputs: Record<string, Shape>, opts: GradCheckOptions = {}): Promise<void> {
  const { checked, failures } = await checkGradients(layer, inputs, opts);
  assert.ok(checked > 0, 'nothing was checked');
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${checked} gradients disagree`);
}

/** A seeded sequence in [0, 1). */
function uniforms(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  });
}

/** Values in +-[0.1, 1): away from the kinks at 0. */
function awayFromZero(n: number, seed = 3): Float32Array {
  return Float32Array.from(uniforms(n, seed), (u) => (u < 0.5 ? -1 : 1) * (0.1 + 0.9 * ((u * 2) % 1)));
}

/** Values in [lo, hi). */
function between(n: number, lo: number, hi: number, seed = 5): Float32Array {
  return Float32Array.from(uniforms(n, seed), (u) => lo + (hi - lo) * u);
}

/** Distinct values (a shuffled ramp with gaps of 0.1): Eltwise MAX away from ties. */
function distinct(n: number, offset: number, seed = 11): Float32Array {
  const order = uniforms(n, seed).map((u, i) => [u, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  return Float32Array.from(order, (k) => (k * 3 + offset) * 0.1 - n * 0.15);
}

describe('gradients: Scale', () => {
  it('learned scale over the channels, with bias', () => expectAgree('type: "Scale" bottom: "x" top: "y" scale_param { bias_term: true }', { x: [2, 3, 2, 2] }));
  it('axis 1 num_axes 2 (C x H), no bias', () => expectAgree('type: "Scale" bottom: "x" top: "y" scale_param { axis: 1 num_axes: 2 }', { x: [2, 3, 2, 2] }));
  it('num_axes 0: one scalar scale', () => expectAgree('type: "Scale" bottom: "x" top: "y" scale_param { num_axes: 0 bias_term: true }', { x: [2, 3, 4] }));
  it('scale from a second input, with a learned bias', () => expectAgree('type: "Scale" bottom: "x" bottom: "s" top: "y" scale_param { axis: 0 bias_term: true }', { x: [2, 3, 2], s: [2, 3] }));
  it('a scalar second input', () => expectAgree('type: "Scale" bottom: "x" bottom: "s" top: "y"', { x: [2, 3, 2], s: [] }));
});

describe('gradients: Bias', () => {
  it('learned bias over the channels', () => expectAgree('type: "Bias" bottom: "x" top: "y"', { x: [2, 3, 2, 2] }));
  it('bias from a second input spanning H, W', () => expectAgree('type: "Bias" bottom: "x" bottom: "b" top: "y" bias_param { axis: 2 }', { x: [2, 3, 2, 2], b: [2, 2] }));
});

describe('gradients: Eltwise', () => {
  it('SUM with coefficients', () => expectAgree('type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { operation: SUM coeff: 1 coeff: -0.5 coeff: 2 }', { a: [2, 3, 2], b: [2, 3, 2], c: [2, 3, 2] }));
  it('PROD of three, stable gradient', () => expectAgree('type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { operation: PROD }', { a: [2, 3], b: [2, 3], c: [2, 3] }));
  it('PROD, stable_prod_grad: false (top / bottom)', () => expectAgree('type: "Eltwise" bottom: "a" bottom: "b" top: "y" eltwise_param { operation: PROD stable_prod_grad: false }', { a: [2, 3], b: [2, 3] }, {
    values: { a: awayFromZero(6, 3), b: awayFromZero(6, 4) },
  }));
  it('MAX of two', () => expectAgree('type: "Eltwise" bottom: "a" bottom: "b" top: "y" eltwise_param { operation: MAX }', { a: [2, 6], b: [2, 6] }, {
    values: { a: distinct(12, 0, 1), b: distinct(12, 1, 2) },
  }));
  it('MAX of three', () => expectAgree('type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { operation: MAX }', { a: [3, 4], b: [3, 4], c: [3, 4] }, {
    values: { a: distinct(12, 0, 1), b: distinct(12, 1, 2), c: distinct(12, 2, 3) },
  }));
});

describe('gradients: routing layers', () => {
  it('Concat on axis 1', () => expectAgree('type: "Concat" bottom: "a" bottom: "b" top: "y"', { a: [2, 2, 3], b: [2, 3, 3] }));
  it('Concat on axis 0', () => expectAgree('type: "Concat" bottom: "a" bottom: "b" top: "y" concat_param { axis: 0 }', { a: [1, 3], b: [2, 3] }));
  it('Slice at points', () => expectAgree('type: "Slice" bottom: "x" top: "a" top: "b" top: "c" slice_param { axis: 2 slice_point: 1 slice_point: 3 }', { x: [2, 2, 5] }));
  it('Split', () => expectAgree('type: "Split" bottom: "x" top: "a" top: "b"', { x: [2, 3] }));
  it('Flatten', () => expectAgree('type: "Flatten" bottom: "x" top: "y" flatten_param { axis: 1 end_axis: 2 }', { x: [2, 3, 2, 2] }));
  it('Reshape', () => expectAgree('type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 0 dim: -1 dim: 2 } }', { x: [2, 3, 2, 2] }));
});

describe('gradients: activations', () => {
  const x = { x: [2, 3, 4] };
  it('PReLU per channel', () => expectAgree('type: "PReLU" bottom: "x" top: "y"', { x: [2, 3, 2, 2] }, { values: { x: awayFromZero(24) } }));
  it('PReLU channel_shared', () => expectAgree('type: "PReLU" bottom: "x" top: "y" prelu_param { channel_shared: true }', { x: [2, 3, 4] }, { values: { x: awayFromZero(24) } }));
  it('ELU', () => expectAgree('type: "ELU" bottom: "x" top: "y" elu_param { alpha: 0.5 }', x, { values: { x: awayFromZero(24) } }));
  it('Sigmoid', () => expectAgree('type: "Sigmoid" bottom: "x" top: "y"', x));
  it('TanH', () => expectAgree('type: "TanH" bottom: "x" top: "y"', x));
  it('AbsVal', () => expectAgree('type: "AbsVal" bottom: "x" top: "y"', x, { values: { x: awayFromZero(24) } }));
  it('BNLL', () => expectAgree('type: "BNLL" bottom: "x" top: "y"', x));
  it('Softmax on axis 1', () => expectAgree('type: "Softmax" bottom: "x" top: "y"', x));
  it('Softmax on the last axis', () => expectAgree('type: "Softmax" bottom: "x" top: "y" softmax_param { axis: -1 }', x));
  it('Exp, base 2, scale and shift', () => expectAgree('type: "Exp" bottom: "x" top: "y" exp_param { base: 2 scale: 0.7 shift: 0.3 }', x));
  it('Exp, base e', () => expectAgree('type: "Exp" bottom: "x" top: "y"', x));
  it('Log, base 10, scale and shift', () => expectAgree('type: "Log" bottom: "x" top: "y" log_param { base: 10 scale: 0.5 shift: 1 }', x, { values: { x: between(24, -1, 1) } }));
  it('Log, natural', () => expectAgree('type: "Log" bottom: "x" top: "y"', x, { values: { x: between(24, 0.5, 2) } }));
});

describe('gradients: Power', () => {
  const x = { x: [2, 3, 4] };
  const positive = { values: { x: between(24, 0.5, 1.5) } };
  it('power 3, scale and shift', () => expectAgree('type: "Power" bottom: "x" top: "y" power_param { power: 3 scale: 0.5 shift: 1 }', x));
  it('power 0.5, scale and shift', () => expectAgree('type: "Power" bottom: "x" top: "y" power_param { power: 0.5 scale: 2 shift: 3 }', x));
  it('power 2 (its own case), shift', () => expectAgree('type: "Power" bottom: "x" top: "y" power_param { power: 2 scale: -1.5 shift: 0.5 }', x));
  it('power 2.5, shift 0 (y / x)', () => expectAgree('type: "Power" bottom: "x" top: "y" power_param { power: 2.5 scale: 1.2 }', x, positive));
  it('power 1: the scale', () => expectAgree('type: "Power" bottom: "x" top: "y" power_param { power: 1 scale: 3 shift: 2 }', x));
  it('power 0: no gradient', () => expectAgree('type: "Power" bottom: "x" top: "y" power_param { power: 0 scale: 3 }', x));
});

describe('gradients: Dropout', () => {
  it('the mask of the forward, at TRAIN', () => expectAgree('type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 0.3 }', { x: [4, 6] }));
  it('Fast R-CNN scale_train: false, at TRAIN', () => expectAgree('type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 0.5 scale_train: false }', { x: [4, 6] }, { dialect: 'fast-rcnn' }));

  it('Fast R-CNN scale_train: false keeps values unscaled at TRAIN', async () => {
    const text = 'input: "x" input_shape { dim: 1000 }\nlayer { name: "drop" type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 0.5 scale_train: false } }\n';
    const net = buildNet(parseCaffeText(text, { kinds: ['net'], dialect: 'fast-rcnn' }).message, { dialect: 'fast-rcnn', phase: 'TRAIN' });
    const engine = await TrainingEngine.create(net, { backward: 'none', seed: 5 });
    try {
      const { outputs } = await engine.step({ x: new Float32Array(1000).fill(3) });
      const y = Array.from(outputs.get('y')!);
      assert.ok(y.every((v) => v === 0 || v === 3), 'every value is dropped or kept as it is');
      const kept = y.filter((v) => v === 3).length;
      assert.ok(Math.abs(kept - 500) < 80, `${kept} kept of 1000`);
    } finally {
      await engine.release();
    }
  });

  it('keeps about 1 - ratio of the values, scaled by 1 / (1 - ratio), and passes the gradient through the same mask', async () => {
    const text = 'input: "x" input_shape { dim: 100 dim: 100 }\nlayer { name: "drop" type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 0.25 } }\n';
    const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
    const engine = await TrainingEngine.create(net, { backward: 'external', seed: 3 });
    try {
      const x = new Float32Array(10000).fill(2);
      const r = new Float32Array(10000).fill(1);
      const { outputs, dataGrads } = await engine.step({ x, 'grad_in:y': r });
      const y = outputs.get('y')!;
      const dx = dataGrads.get('x')!;
      const scale = Math.fround(1 / 0.75);
      let kept = 0;
      for (let i = 0; i < y.length; i++) {
        assert.ok(y[i] === 0 || y[i] === Math.fround(2 * scale), `y[${i}] = ${y[i]}`);
        assert.equal(dx[i], y[i] === 0 ? 0 : scale);
        if (y[i] !== 0) kept++;
      }
      // Binomial(10000, 0.75): standard deviation about 43.
      assert.ok(Math.abs(kept - 7500) < 250, `${kept} kept of 10000`);
    } finally {
      await engine.release();
    }
  });
});

describe('gradients: MVN and Tile', () => {
  it('MVN, mean only', () => expectAgree('type: "MVN" bottom: "x" top: "y" mvn_param { normalize_variance: false }', { x: [2, 3, 2, 2] }));
  it('MVN, mean and variance over H, W', () => expectAgree('type: "MVN" bottom: "x" top: "y"', { x: [2, 2, 3, 2] }));
  it('MVN across channels, 2-D input', () => expectAgree('type: "MVN" bottom: "x" top: "y" mvn_param { across_channels: true }', { x: [2, 5] }));
  it('Tile on axis 1', () => expectAgree('type: "Tile" bottom: "x" top: "y" tile_param { tiles: 3 }', { x: [2, 2, 3] }));
  it('Tile on the last axis', () => expectAgree('type: "Tile" bottom: "x" top: "y" tile_param { axis: -1 tiles: 2 }', { x: [2, 3] }));
});

describe('Eltwise MAX ties, by Caffe\'s rule', () => {
  it('bottoms 0 and 1 equal: bottom 1 takes the gradient; a later equal bottom does not take over', async () => {
    const text = 'input: "a" input_shape { dim: 4 }\ninput: "b" input_shape { dim: 4 }\ninput: "c" input_shape { dim: 4 }\n'
      + 'layer { name: "max" type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { operation: MAX } }\n';
    const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
    const engine = await TrainingEngine.create(net, { backward: 'external' });
    try {
      // Element 0: a = b = c; 1: a = b < c; 2: a > b = c; 3: b > a = c.
      const batch = { a: Float32Array.of(1, 1, 3, 1), b: Float32Array.of(1, 1, 2, 4), c: Float32Array.of(1, 2, 2, 1), 'grad_in:y': Float32Array.of(10, 20, 30, 40) };
      const { dataGrads } = await engine.step(batch);
      assert.deepEqual(Array.from(dataGrads.get('a')!), [0, 0, 30, 0]);
      assert.deepEqual(Array.from(dataGrads.get('b')!), [10, 0, 0, 40]);
      assert.deepEqual(Array.from(dataGrads.get('c')!), [0, 20, 0, 0]);
    } finally {
      await engine.release();
    }
  });
});

describe('Slice with a top no gradient reaches', () => {
  it('passes zeros for that part', async () => {
    const text = 'input: "x" input_shape { dim: 2 dim: 3 }\n'
      + 'layer { name: "slice" type: "Slice" bottom: "x" top: "a" top: "b" slice_param { slice_point: 1 } }\n'
      + 'layer { name: "silence" type: "Silence" bottom: "b" }\n';
    const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
    const engine = await TrainingEngine.create(net, { backward: 'external' });
    try {
      const { dataGrads } = await engine.step({ x: new Float32Array(6), 'grad_in:a': Float32Array.of(5, 7) });
      assert.deepEqual(Array.from(dataGrads.get('x')!), [5, 0, 0, 7, 0, 0]);
    } finally {
      await engine.release();
    }
  });
});
