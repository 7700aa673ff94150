// Convolution, Pooling and InnerProduct shapes, worked out by hand from Caffe's formulas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobShapes, run } from './helpers.js';

describe('Convolution', () => {
  it('AlexNet conv1: 227 -> (227 - 11)/4 + 1 = 55', () => {
    const r = run('type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 96 kernel_size: 11 stride: 4 }', { x: [10, 3, 227, 227] });
    assert.deepEqual(r.tops, [[10, 96, 55, 55]]);
    assert.deepEqual(blobShapes(r), [[96, 3, 11, 11], [96]]);
    assert.equal(r.macs, 10 * 96 * 55 * 55 * 3 * 11 * 11);
  });
  it('groups, pad, dilation and _h/_w: H (13 + 2 - 5)/1 + 1 = 11 with dilation 2 (extent 5); W (13 + 0 - 3)/2 + 1 = 6', () => {
    const r = run('type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 8 kernel_h: 3 kernel_w: 3 pad_h: 1 stride_w: 2 dilation: 2 group: 2 bias_term: false }', { x: [1, 4, 13, 13] });
    // W: extent 5 too (dilation applies to both axes): (13 - 5)/2 + 1 = 5.
    assert.deepEqual(r.tops, [[1, 8, 11, 5]]);
    assert.deepEqual(blobShapes(r), [[8, 2, 3, 3]]);
  });
  it('refuses a kernel larger than the padded input, naming the axis', () => {
    assert.throws(() => run('type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 1 kernel_size: 7 }', { x: [1, 1, 5, 5] }),
      /kernel \(7\) is larger than the padded input \(5 \+ 2x0\)/);
  });
});

describe('Pooling', () => {
  it('rounds up: GoogLeNet pool1 112 -> ceil((112 - 3)/2) + 1 = 56', () => {
    assert.deepEqual(run('type: "Pooling" bottom: "x" top: "y" pooling_param { pool: MAX kernel_size: 3 stride: 2 }', { x: [1, 64, 112, 112] }).tops, [[1, 64, 56, 56]]);
  });
  it('FLOOR round_mode: floor((112 - 3)/2) + 1 = 55', () => {
    assert.deepEqual(run('type: "Pooling" bottom: "x" top: "y" pooling_param { pool: MAX kernel_size: 3 stride: 2 round_mode: FLOOR }', { x: [1, 64, 112, 112] }).tops, [[1, 64, 55, 55]]);
  });
  it('drops a last window that would start in the padding: ceil((5 + 2 - 2)/2) + 1 = 4, and 3*2 >= 5 + 1 so 3', () => {
    assert.deepEqual(run('type: "Pooling" bottom: "x" top: "y" pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 }', { x: [1, 1, 5, 5] }).tops, [[1, 1, 3, 3]]);
  });
  it('global pooling and the MAX mask top', () => {
    assert.deepEqual(run('type: "Pooling" bottom: "x" top: "y" top: "mask" pooling_param { pool: MAX global_pooling: true }', { x: [2, 2048, 7, 7] }).tops, [[2, 2048, 1, 1], [2, 2048, 1, 1]]);
    assert.throws(() => run('type: "Pooling" bottom: "x" top: "y" pooling_param { global_pooling: true kernel_size: 7 }', { x: [1, 1, 7, 7] }), /kernel size cannot be given/);
  });
});

describe('InnerProduct', () => {
  it('flattens from axis 1: 50x4x4 = 800 -> 500; weights [500, 800]', () => {
    const r = run('type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 500 }', { x: [64, 50, 4, 4] });
    assert.deepEqual(r.tops, [[64, 500]]);
    assert.deepEqual(blobShapes(r), [[500, 800], [500]]);
    assert.equal(r.macs, 64 * 500 * 800);
  });
  it('axis 2 and transpose', () => {
    const r = run('type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 7 axis: 2 transpose: true bias_term: false }', { x: [2, 3, 4, 5] });
    assert.deepEqual(r.tops, [[2, 3, 7]]);
    assert.deepEqual(blobShapes(r), [[20, 7]]);
  });
});
