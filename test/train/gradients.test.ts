// Every layer's backward against finite differences of its forward (test/train/gradcheck.ts), on small random
// inputs, as Caffe's layer tests do with GradientChecker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkGradients, type GradCheckOptions } from './gradcheck.js';
import type { Shape } from '../../src/layers/types.js';

async function expectAgree(layer: string, inputs: Record<string, Shape>, opts: GradCheckOptions = {}): Promise<void> {
  const { checked, failures } = await checkGradients(layer, inputs, opts);
  assert.ok(checked > 0, 'nothing was checked');
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${checked} gradients disagree`);
}

/** Values in +-[0.1, 1): away from the kink at 0 that ReLU-like layers have. */
function awayFromZero(n: number, seed = 3): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647;
    return (u < 0.5 ? -1 : 1) * (0.1 + 0.9 * ((u * 2) % 1));
  });
}

describe('gradients: InnerProduct', () => {
  it('axis 1 with bias', () => expectAgree('type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 3 }', { x: [2, 3, 2, 2] }));
  it('transpose, no bias', () => expectAgree('type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 4 bias_term: false transpose: true }', { x: [3, 5] }));
  it('axis 2', () => expectAgree('type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 2 axis: 2 }', { x: [2, 3, 4] }));
});

describe('gradients: ReLU', () => {
  it('plain', () => expectAgree('type: "ReLU" bottom: "x" top: "y"', { x: [2, 3, 4] }, { values: { x: awayFromZero(24) } }));
  it('leaky', () => expectAgree('type: "ReLU" bottom: "x" top: "y" relu_param { negative_slope: 0.1 }', { x: [2, 3, 4] }, { values: { x: awayFromZero(24) } }));
});

describe('gradients: EuclideanLoss', () => {
  it('both inputs, second of another shape with the same count per item', () => expectAgree('type: "EuclideanLoss" bottom: "a" bottom: "b" top: "loss"', { a: [3, 4], b: [3, 2, 2] }));
});
