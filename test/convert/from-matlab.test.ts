// Layout arithmetic of from-matlab with values worked by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobNames, blobVariableName, colMajorToRowMajor, matlabName, readingsThatFit } from '../../src/convert/from-matlab.js';

describe('from-matlab layouts', () => {
  it('transposes column-major memory to row-major', () => {
    // A 2x3 matrix [[1, 2, 3], [4, 5, 6]] is 1 4 2 5 3 6 in MATLAB's memory.
    assert.deepEqual([...colMajorToRowMajor(Float32Array.from([1, 4, 2, 5, 3, 6]), [2, 3])], [1, 2, 3, 4, 5, 6]);
    // A 2x2x2 array A(i,j,k) = 100i + 10j + k (0-based) column-major: i fastest.
    const col: number[] = [];
    for (let k = 0; k < 2; k++) for (let j = 0; j < 2; j++) for (let i = 0; i < 2; i++) col.push(100 * i + 10 * j + k);
    assert.deepEqual([...colMajorToRowMajor(Float32Array.from(col), [2, 2, 2])], [0, 1, 10, 11, 100, 101, 110, 111]);
    // 2x1x3: the singleton changes nothing but the order of the other two axes.
    assert.deepEqual([...colMajorToRowMajor(Float32Array.from([1, 4, 2, 5, 3, 6]), [2, 1, 3])], [1, 2, 3, 4, 5, 6]);
    // 3x40x2x37 (tiles of 32 cut both outer axes): element (a, b, c, d) sits at a + 3*(b + 40*(c + 2*d)) in MATLAB.
    const shape = [3, 40, 2, 37];
    const src = Float32Array.from({ length: 3 * 40 * 2 * 37 }, (_, i) => i);
    const out = colMajorToRowMajor(src, shape);
    for (const [a, b, c, d] of [[0, 0, 0, 1], [2, 39, 1, 36], [1, 33, 0, 35], [2, 5, 1, 0]]) {
      assert.equal(out[((a * 40 + b) * 2 + c) * 37 + d], a + 3 * (b + 40 * (c + 2 * d)));
    }
    // A vector is the same either way.
    assert.deepEqual([...colMajorToRowMajor(Float32Array.from([1, 2, 3]), [1, 3, 1])], [1, 2, 3]);
  });

  it('tells the layouts apart by size, drops MATLAB\'s trailing singletons, and sees when both fit', () => {
    assert.deepEqual(readingsThatFit([3, 3, 3, 20], [20, 3, 3, 3]), ['reversed']);
    assert.deepEqual(readingsThatFit([20, 3, 3, 3], [20, 3, 3, 3]), ['colmajor']);
    assert.deepEqual(readingsThatFit([3, 3, 3], [1, 3, 3, 3]), ['reversed']); // W x H x C x 1 shows as W x H x C
    assert.deepEqual(readingsThatFit([1, 3, 3, 3], [1, 3, 3, 3]), ['colmajor']);
    assert.deepEqual(readingsThatFit([4, 1], [4]), ['vector']);
    assert.deepEqual(readingsThatFit([1, 4], [4]), ['vector']);
    assert.deepEqual(readingsThatFit([3, 3, 3, 3], [3, 3, 3, 3]), ['reversed', 'colmajor']);
    assert.deepEqual(readingsThatFit([64, 3, 3, 64], [64, 3, 3, 64]), ['reversed', 'colmajor']);
    assert.deepEqual(readingsThatFit([3, 3, 4, 20], [20, 3, 3, 3]), []);
  });

  it('names variables as MATLAB allows: conv1_w, conv1_b, bn1_mean, inception_3a_1x1_w', () => {
    const conv = [{ role: 'weight', shape: [1] }, { role: 'bias', shape: [1] }];
    assert.equal(blobVariableName('conv1', conv, 0), 'conv1_w');
    assert.equal(blobVariableName('conv1', conv, 1), 'conv1_b');
    assert.equal(blobVariableName('inception_3a/1x1', conv, 0), 'inception_3a_1x1_w');
    assert.equal(matlabName('1x1'), 'x1x1');
    const bn = [{ role: 'mean', shape: [1] }, { role: 'variance', shape: [1] }, { role: 'scale_factor', shape: [1] }];
    assert.equal(blobVariableName('bn1', bn, 2), 'bn1_scale_factor');
    const lstm = [{ role: 'weight', shape: [1] }, { role: 'bias', shape: [1] }, { role: 'weight', shape: [1] }];
    assert.deepEqual(blobNames(lstm, 2), ['w2', 'weights2', 'weight2', 'W2']);
  });
});
