// Activation, element-wise, shape and routing layers, with shapes worked out by hand from Caffe's Reshape().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobShapes, run } from './helpers.js';

const X = { x: [2, 3, 4, 5] };

describe('element-wise activations keep the shape', () => {
  const cases: [string, string][] = [
    ['AbsVal', ''], ['BNLL', ''], ['ELU', 'elu_param { alpha: 0.5 }'], ['Power', 'power_param { power: 2 scale: 3 shift: 1 }'],
    ['Sigmoid', ''], ['Swish', 'swish_param { beta: 2 }'], ['TanH', ''], ['Threshold', 'threshold_param { threshold: 0.3 }'],
    ['Dropout', 'dropout_param { dropout_ratio: 0.4 }'], ['Exp', 'exp_param { base: 2 }'], ['Log', 'log_param { base: 10 }'],
    ['Clip', 'clip_param { min: -1 max: 6 }'],
  ];
  for (const [type, param] of cases) {
    it(`${type}: 2x3x4x5 -> 2x3x4x5, no learned blobs`, () => {
      const r = run(`type: "${type}" bottom: "x" top: "y" ${param}`, X);
      assert.deepEqual(r.tops, [[2, 3, 4, 5]]);
      assert.deepEqual(blobShapes(r), []);
    });
  }
  it('in place is fine for most (ReLU-style), refused for AbsVal', () => {
    assert.deepEqual(run('type: "TanH" bottom: "x" top: "x"', X).tops, [[2, 3, 4, 5]]);
    assert.throws(() => run('type: "AbsVal" bottom: "x" top: "x"', X), /AbsVal layer cannot work in place/);
  });
  it('Clip needs both min and max', () => {
    assert.throws(() => run('type: "Clip" bottom: "x" top: "y" clip_param { min: 0 }', X), /clip_param\.max must be given/);
    assert.throws(() => run('type: "Clip" bottom: "x" top: "y"', X), /clip_param\.min and clip_param\.max must be given/);
  });
  it('Dropout ratio must be in [0, 1)', () => {
    assert.throws(() => run('type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 1 }', X), /dropout_ratio must be in \[0, 1\), got 1/);
  });
  it('Exp and Log bases must be positive (or -1); Log base 1 divides by log(1) = 0', () => {
    assert.throws(() => run('type: "Exp" bottom: "x" top: "y" exp_param { base: -2 }', X), /exp_param\.base must be positive/);
    assert.throws(() => run('type: "Log" bottom: "x" top: "y" log_param { base: 0 }', X), /log_param\.base must be positive/);
    assert.throws(() => run('type: "Log" bottom: "x" top: "y" log_param { base: 1 }', X), /log_param\.base cannot be 1/);
  });
});

describe('PReLU', () => {
  it('one slope per channel: input 2x16x8x8 -> slope [16]', () => {
    const r = run('type: "PReLU" bottom: "x" top: "y"', { x: [2, 16, 8, 8] });
    assert.deepEqual(r.tops, [[2, 16, 8, 8]]);
    assert.deepEqual(blobShapes(r), [[16]]);
  });
  it('channel_shared: one slope in a 0-D blob (Caffe: Blob(vector<int>(0)))', () => {
    assert.deepEqual(blobShapes(run('type: "PReLU" bottom: "x" top: "y" prelu_param { channel_shared: true }', { x: [2, 16, 8, 8] })), [[]]);
  });
  it('2-D input [N, C]: channels = 10', () => {
    assert.deepEqual(blobShapes(run('type: "PReLU" bottom: "x" top: "y"', { x: [4, 10] })), [[10]]);
  });
  it('refuses a 1-D input and (legacy channels() accessor) a 5-D input', () => {
    assert.throws(() => run('type: "PReLU" bottom: "x" top: "y"', { x: [5] }), /at least 2 axes/);
    assert.throws(() => run('type: "PReLU" bottom: "x" top: "y"', { x: [1, 2, 3, 4, 5] }), /legacy 4-D accessors .* 5-D input/);
  });
});

describe('Softmax', () => {
  it('axis 2 of a 3-D input: same shape', () => {
    assert.deepEqual(run('type: "Softmax" bottom: "x" top: "y" softmax_param { axis: 2 }', { x: [2, 3, 4] }).tops, [[2, 3, 4]]);
  });
  it('refuses an axis outside the input', () => {
    assert.throws(() => run('type: "Softmax" bottom: "x" top: "y" softmax_param { axis: 3 }', { x: [2, 3, 4] }), /softmax_param\.axis 3 is out of range for a 3-D input/);
  });
});

describe('MVN', () => {
  it('4-D input: same shape', () => {
    assert.deepEqual(run('type: "MVN" bottom: "x" top: "y"', X).tops, [[2, 3, 4, 5]]);
  });
  it('2-D input 8x10: Caffe reshapes the top as (num, channels, height, width) = 8x10x1x1', () => {
    assert.deepEqual(run('type: "MVN" bottom: "x" top: "y"', { x: [8, 10] }).tops, [[8, 10, 1, 1]]);
  });
  it('refuses a 5-D input', () => {
    assert.throws(() => run('type: "MVN" bottom: "x" top: "y"', { x: [1, 2, 3, 4, 5] }), /legacy 4-D accessors/);
  });
});

describe('Eltwise', () => {
  const three = { a: [1, 3, 4, 4], b: [1, 3, 4, 4], c: [1, 3, 4, 4] };
  it('SUM of three 1x3x4x4 bottoms with one coeff each: 1x3x4x4', () => {
    assert.deepEqual(run('type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { coeff: 1 coeff: -1 coeff: 0.5 }', three).tops, [[1, 3, 4, 4]]);
  });
  it('MAX with coefficients: Caffe accepts (and ignores) them', () => {
    assert.deepEqual(run('type: "Eltwise" bottom: "a" bottom: "b" top: "y" eltwise_param { operation: MAX coeff: 1 coeff: 2 }', three).tops, [[1, 3, 4, 4]]);
  });
  it('coeff count must equal the bottom count; PROD takes none', () => {
    assert.throws(() => run('type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { coeff: 1 coeff: -1 }', three), /2 coeff values for 3 bottoms/);
    assert.throws(() => run('type: "Eltwise" bottom: "a" bottom: "b" top: "y" eltwise_param { operation: PROD coeff: 1 coeff: 1 }', three), /coeff is only for operation SUM, not PROD/);
  });
  it('all bottoms must have the same shape, naming the one that differs', () => {
    assert.throws(() => run('type: "Eltwise" bottom: "a" bottom: "b" top: "y"', { a: [1, 3, 4, 4], b: [1, 3, 5, 5] }), /bottom 1 'b' is 1x3x5x5, bottom 0 'a' is 1x3x4x4/);
  });
  it('needs at least 2 bottoms', () => {
    assert.throws(() => run('type: "Eltwise" bottom: "a" top: "y"', { a: [1, 3] }), /at least 2 bottoms/);
  });
});

describe('ArgMax', () => {
  it('no axis, 2-D input 10x1000, top_k 5: max(2, 3) = 3 axes -> [10, 1, 5]', () => {
    assert.deepEqual(run('type: "ArgMax" bottom: "x" top: "y" argmax_param { top_k: 5 }', { x: [10, 1000] }).tops, [[10, 1, 5]]);
  });
  it('no axis, 4-D input with out_max_val, top_k 2: [N, 2, top_k, 1] = [10, 2, 2, 1] (the 4th axis stays 1)', () => {
    assert.deepEqual(run('type: "ArgMax" bottom: "x" top: "y" argmax_param { top_k: 2 out_max_val: true }', { x: [10, 3, 4, 4] }).tops, [[10, 2, 2, 1]]);
  });
  it('axis 1, top_k 3: that axis becomes 3 -> [10, 3, 4]', () => {
    assert.deepEqual(run('type: "ArgMax" bottom: "x" top: "y" argmax_param { axis: 1 top_k: 3 out_max_val: true }', { x: [10, 5, 4] }).tops, [[10, 3, 4]]);
  });
  it('top_k must fit the axis (5) or the flattened item (3x4x4 = 48)', () => {
    assert.throws(() => run('type: "ArgMax" bottom: "x" top: "y" argmax_param { axis: 1 top_k: 6 }', { x: [10, 5, 4] }), /top_k 6 is larger than axis 1 \(size 5\)/);
    assert.throws(() => run('type: "ArgMax" bottom: "x" top: "y" argmax_param { top_k: 49 }', { x: [10, 3, 4, 4] }), /top_k 49 is larger than the 48 values/);
  });
});

describe('Concat', () => {
  it('axis 1 (default): channels 3 + 5 = 8', () => {
    assert.deepEqual(run('type: "Concat" bottom: "a" bottom: "b" top: "y"', { a: [2, 3, 4, 4], b: [2, 5, 4, 4] }).tops, [[2, 8, 4, 4]]);
  });
  it('legacy concat_dim: 0 -> batch 2 + 4 = 6; axis -1: 3 + 4 = 7', () => {
    assert.deepEqual(run('type: "Concat" bottom: "a" bottom: "b" top: "y" concat_param { concat_dim: 0 }', { a: [2, 3], b: [4, 3] }).tops, [[6, 3]]);
    assert.deepEqual(run('type: "Concat" bottom: "a" bottom: "b" top: "y" concat_param { axis: -1 }', { a: [2, 3], b: [2, 4] }).tops, [[2, 7]]);
  });
  it('one bottom: passes through', () => {
    assert.deepEqual(run('type: "Concat" bottom: "a" top: "y"', { a: [2, 3] }).tops, [[2, 3]]);
  });
  it('names the mismatching bottom and axis', () => {
    assert.throws(() => run('type: "Concat" bottom: "a" bottom: "b" top: "y"', { a: [2, 3, 4, 4], b: [2, 5, 4, 8] }),
      /bottom 1 'b' \(2x5x4x8\) does not match bottom 0 'a' \(2x3x4x4\) on axis 3 \(8 vs 4\): only the concat axis 1 may differ/);
    assert.throws(() => run('type: "Concat" bottom: "a" bottom: "b" top: "y"', { a: [2, 3, 4, 4], b: [2, 3, 4] }), /has 3 axes but bottom 0 'a' \(2x3x4x4\) has 4/);
  });
  it('refuses axis and concat_dim together, and concat_dim out of range', () => {
    assert.throws(() => run('type: "Concat" bottom: "a" bottom: "b" top: "y" concat_param { axis: 1 concat_dim: 1 }', { a: [2, 3], b: [2, 3] }), /either concat_param\.axis or the legacy concat_param\.concat_dim/);
    assert.throws(() => run('type: "Concat" bottom: "a" bottom: "b" top: "y" concat_param { concat_dim: 2 }', { a: [2, 3], b: [2, 3] }), /concat_dim 2 is out of range for a 2-D input/);
  });
});

describe('Slice', () => {
  it('slice_point 3, 7 on a channel axis of 10: 3, 7 - 3 = 4, 10 - 7 = 3', () => {
    const r = run('type: "Slice" bottom: "x" top: "a" top: "b" top: "c" slice_param { slice_point: 3 slice_point: 7 }', { x: [2, 10, 4] });
    assert.deepEqual(r.tops, [[2, 3, 4], [2, 4, 4], [2, 3, 4]]);
  });
  it('no slice_point: equal parts, 10 / 2 = 5; legacy slice_dim 0: 6 / 3 = 2', () => {
    assert.deepEqual(run('type: "Slice" bottom: "x" top: "a" top: "b"', { x: [2, 10, 4] }).tops, [[2, 5, 4], [2, 5, 4]]);
    assert.deepEqual(run('type: "Slice" bottom: "x" top: "a" top: "b" top: "c" slice_param { slice_dim: 0 }', { x: [6, 2] }).tops, [[2, 2], [2, 2], [2, 2]]);
  });
  it('refuses an unequal split, a wrong slice_point count, non-increasing points and a point past the axis', () => {
    assert.throws(() => run('type: "Slice" bottom: "x" top: "a" top: "b" top: "c"', { x: [2, 10] }), /size 10 does not divide by 3/);
    assert.throws(() => run('type: "Slice" bottom: "x" top: "a" top: "b" slice_param { slice_point: 2 slice_point: 4 }', { x: [2, 10] }), /2 slice_point values for 2 tops/);
    assert.throws(() => run('type: "Slice" bottom: "x" top: "a" top: "b" top: "c" slice_param { slice_point: 5 slice_point: 5 }', { x: [2, 10] }), /strictly increasing and positive \(absolute offsets\): 5 after 5/);
    assert.throws(() => run('type: "Slice" bottom: "x" top: "a" top: "b" slice_param { slice_point: 10 }', { x: [2, 10] }), /slice_point 10 is not inside axis 1 \(size 10\)/);
  });
});

describe('Split', () => {
  it('copies the shape to every top', () => {
    assert.deepEqual(run('type: "Split" bottom: "x" top: "a" top: "b" top: "c"', { x: [2, 3] }).tops, [[2, 3], [2, 3], [2, 3]]);
  });
  it('refuses to work in place', () => {
    assert.throws(() => run('type: "Split" bottom: "x" top: "x" top: "b"', { x: [2, 3] }), /Split layer cannot work in place/);
  });
});

describe('Flatten', () => {
  it('default axis 1 .. -1: 2x3x4x5 -> 2x(3*4*5 = 60)', () => {
    assert.deepEqual(run('type: "Flatten" bottom: "x" top: "y"', X).tops, [[2, 60]]);
  });
  it('axis 1 .. end_axis 2: 2x(3*4 = 12)x5', () => {
    assert.deepEqual(run('type: "Flatten" bottom: "x" top: "y" flatten_param { end_axis: 2 }', X).tops, [[2, 12, 5]]);
  });
  it('end_axis = axis - 1 flattens nothing and inserts a 1: axis 2, end_axis 1 -> 2x3x1x4x5', () => {
    assert.deepEqual(run('type: "Flatten" bottom: "x" top: "y" flatten_param { axis: 2 end_axis: 1 }', X).tops, [[2, 3, 1, 4, 5]]);
  });
  it('refuses end_axis before axis - 1, and in place', () => {
    assert.throws(() => run('type: "Flatten" bottom: "x" top: "y" flatten_param { axis: 3 end_axis: 1 }', X), /end_axis \(axis 1\) comes before flatten_param\.axis \(axis 3\)/);
    assert.throws(() => run('type: "Flatten" bottom: "x" top: "x"', X), /Flatten layer cannot work in place/);
  });
});

describe('Reshape', () => {
  it('shape { 0 -1 } on 2x3x4x5: copy 2, infer 120 / 2 = 60', () => {
    assert.deepEqual(run('type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 0 dim: -1 } }', X).tops, [[2, 60]]);
  });
  it('axis 1 num_axes 1 shape { 3 1 }: replaces axis 1 only -> 2x3x1x4x5', () => {
    assert.deepEqual(run('type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 3 dim: 1 } axis: 1 num_axes: 1 }', X).tops, [[2, 3, 1, 4, 5]]);
  });
  it('axis -1 num_axes 0 means after the last axis (start = 4 - 1 + 1 = 4): appends a 1 -> 2x3x4x5x1', () => {
    assert.deepEqual(run('type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 1 } axis: -1 num_axes: 0 }', X).tops, [[2, 3, 4, 5, 1]]);
  });
  it('-1 with copies and constants: { 0 -1 5 } on 2x3x4x5 -> 2 x 120/(2*5) = 12 x 5', () => {
    assert.deepEqual(run('type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 0 dim: -1 dim: 5 } }', X).tops, [[2, 12, 5]]);
  });
  it('refuses two -1, a count that does not divide, a count change, a 0 with nothing to copy, and in place', () => {
    const bad = (shape: string, input = X) => () => run(`type: "Reshape" bottom: "x" top: "y" reshape_param { ${shape} }`, input);
    assert.throws(bad('shape { dim: -1 dim: -1 }'), /more than one -1/);
    assert.throws(bad('shape { dim: 7 dim: -1 }'), /input count 120 does not divide by the product of the other dims \(7\)/);
    assert.throws(bad('shape { dim: 5 dim: 5 }', { x: [2, 3] }), /5x5 has 25 elements but the input has 6/);
    assert.throws(bad('shape { dim: 0 dim: 0 }', { x: [6] }), /dim 1 is 0 \(copy\), but the input has no axis 1/);
    assert.throws(bad('shape { dim: -1 } axis: 5'), /reshape_param\.axis 5 is out of range for a 4-D input/);
    assert.throws(() => run('type: "Reshape" bottom: "x" top: "x" reshape_param { shape { dim: -1 } }', X), /Reshape layer cannot work in place/);
  });
});

describe('Tile', () => {
  it('axis 1 (default), tiles 3: 3 * 3 = 9 -> 2x9x4', () => {
    assert.deepEqual(run('type: "Tile" bottom: "x" top: "y" tile_param { tiles: 3 }', { x: [2, 3, 4] }).tops, [[2, 9, 4]]);
  });
  it('axis -1, tiles 2: 4 * 2 = 8', () => {
    assert.deepEqual(run('type: "Tile" bottom: "x" top: "y" tile_param { axis: -1 tiles: 2 }', { x: [2, 3, 4] }).tops, [[2, 3, 8]]);
  });
  it('tiles is required and must be positive', () => {
    assert.throws(() => run('type: "Tile" bottom: "x" top: "y"', { x: [2, 3] }), /tile_param\.tiles must be given/);
    assert.throws(() => run('type: "Tile" bottom: "x" top: "y" tile_param { tiles: 0 }', { x: [2, 3] }), /tile_param\.tiles must be positive, got 0/);
  });
});

describe('Reduction', () => {
  it('keeps the axes before reduction_param.axis: 0 -> [] (a scalar), 1 -> [2], -1 -> [2, 3]', () => {
    const red = (p: string) => run(`type: "Reduction" bottom: "x" top: "y" ${p}`, { x: [2, 3, 4] }).tops;
    assert.deepEqual(red(''), [[]]);
    assert.deepEqual(red('reduction_param { axis: 1 operation: MEAN }'), [[2]]);
    assert.deepEqual(red('reduction_param { axis: -1 operation: SUMSQ }'), [[2, 3]]);
  });
  it('refuses an axis outside the input', () => {
    assert.throws(() => run('type: "Reduction" bottom: "x" top: "y" reduction_param { axis: 3 }', { x: [2, 3, 4] }), /reduction_param\.axis 3 is out of range/);
  });
});

describe('Silence', () => {
  it('takes any number of bottoms and has no tops', () => {
    assert.deepEqual(run('type: "Silence" bottom: "a" bottom: "b"', { a: [2, 3], b: [4] }).tops, []);
  });
  it('refuses a top', () => {
    assert.throws(() => run('type: "Silence" bottom: "a" top: "y"', { a: [2, 3] }), /exactly 0 tops/);
  });
});

describe('Filter', () => {
  it('the first dim depends on the selector data: tops unknown', () => {
    assert.deepEqual(run('type: "Filter" bottom: "a" bottom: "b" bottom: "sel" top: "fa" top: "fb"', { a: [10, 3], b: [10, 4, 5], sel: [10, 1] }).tops, [undefined, undefined]);
  });
  it('checks the top count, the selector shape and the first dims', () => {
    assert.throws(() => run('type: "Filter" bottom: "a" bottom: "sel" top: "fa" top: "fb"', { a: [10, 3], sel: [10] }), /needs 1 top, one per filtered bottom; it has 2/);
    assert.throws(() => run('type: "Filter" bottom: "a" bottom: "sel" top: "fa"', { a: [10, 3], sel: [10, 2] }), /selector \(last bottom 'sel'\) must have size 1 on every axis but the first, got 10x2/);
    assert.throws(() => run('type: "Filter" bottom: "a" bottom: "sel" top: "fa"', { a: [9, 3], sel: [10] }), /bottom 0 'a' \(9x3\) must have the same first dim as the selector/);
  });
});

describe('BatchReindex', () => {
  it('[len(indices), ...data[1:]]: 4 indices into 10x3x8x8 -> 4x3x8x8', () => {
    assert.deepEqual(run('type: "BatchReindex" bottom: "x" bottom: "idx" top: "y"', { x: [10, 3, 8, 8], idx: [4] }).tops, [[4, 3, 8, 8]]);
  });
  it('refuses indices that are not 1-D', () => {
    assert.throws(() => run('type: "BatchReindex" bottom: "x" bottom: "idx" top: "y"', { x: [10, 3], idx: [4, 1] }), /index bottom 'idx' must be 1-D/);
  });
});

describe('Parameter', () => {
  it('no bottoms; the top and the learned blob have parameter_param.shape 3x4', () => {
    const r = run('type: "Parameter" top: "p" parameter_param { shape { dim: 3 dim: 4 } }', {});
    assert.deepEqual(r.tops, [[3, 4]]);
    assert.deepEqual(blobShapes(r), [[3, 4]]);
  });
  it('refuses an empty dim', () => {
    assert.throws(() => run('type: "Parameter" top: "p" parameter_param { shape { dim: 3 dim: 0 } }', {}), /parameter_param\.shape dim 1 gives 0/);
  });
});
