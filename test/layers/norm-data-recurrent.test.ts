// Normalization and scaling, data and recurrent layers: shapes and blobs worked out by hand from Caffe's code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobShapes, run } from './helpers.js';

const roles = (r: ReturnType<typeof run>) => r.learned?.map((b) => b.role);

describe('BatchNorm', () => {
  it('BVLC: same shape out; blobs mean [C], variance [C], scale_factor [1] with C = axis 1 = 16', () => {
    const r = run('type: "BatchNorm" bottom: "x" top: "x"', { x: [2, 16, 8, 8] });
    assert.deepEqual(r.tops, [[2, 16, 8, 8]]);
    assert.deepEqual(blobShapes(r), [[16], [16], [1]]);
    assert.deepEqual(roles(r), ['mean', 'variance', 'scale_factor']);
  });
  it('NVCaffe: 3 blobs, or 5 with scale_bias (or a scale/bias filler): + scale [C], bias [C]', () => {
    assert.deepEqual(blobShapes(run('type: "BatchNorm" bottom: "x" top: "y"', { x: [2, 16, 8, 8] }, { dialect: 'nvcaffe' })), [[16], [16], [1]]);
    const r = run('type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { scale_bias: true }', { x: [2, 16, 8, 8] }, { dialect: 'nvcaffe' });
    assert.deepEqual(blobShapes(r), [[16], [16], [1], [16], [16]]);
    assert.deepEqual(roles(r), ['mean', 'variance', 'scale_factor', 'scale', 'bias']);
    const f = run('type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { bias_filler { type: "constant" } }', { x: [1, 4] }, { dialect: 'nvcaffe' });
    assert.deepEqual(blobShapes(f), [[4], [4], [1], [4], [4]]);
  });
  it('refuses a nonzero lr_mult on the statistics, but not the 3-spec form Caffe upgrades', () => {
    assert.throws(() => run('type: "BatchNorm" bottom: "x" top: "y" param { lr_mult: 1 }', { x: [1, 3, 2, 2] }), /Cannot configure batch normalization statistics/);
    assert.throws(() => run('type: "BatchNorm" bottom: "x" top: "y" param { lr_mult: 0 } param { decay_mult: 0 }', { x: [1, 3, 2, 2] }), /param 1 has lr_mult 1/);
    const r = run('type: "BatchNorm" bottom: "x" top: "y" param { lr_mult: 1 } param { lr_mult: 1 } param { lr_mult: 1 }', { x: [1, 3, 2, 2] });
    assert.deepEqual(r.tops, [[1, 3, 2, 2]]);
  });
  it('needs a channel axis', () => {
    assert.throws(() => run('type: "BatchNorm" bottom: "x" top: "y"', { x: [7] }), /at least 2 axes, got 1/);
  });
});

describe('Scale', () => {
  it('default axis 1, num_axes 1: scale [3]; bias_term adds bias [3]', () => {
    const r = run('type: "Scale" bottom: "x" top: "x" scale_param { bias_term: true }', { x: [2, 3, 4, 5] });
    assert.deepEqual(r.tops, [[2, 3, 4, 5]]);
    assert.deepEqual(blobShapes(r), [[3], [3]]);
    assert.deepEqual(roles(r), ['scale', 'bias']);
  });
  it('num_axes -1 runs to the end: axis 1 of 2x3x4x5 gives [3, 4, 5]; negative axis -2, num_axes 2 gives [4, 5]', () => {
    assert.deepEqual(blobShapes(run('type: "Scale" bottom: "x" top: "y" scale_param { num_axes: -1 }', { x: [2, 3, 4, 5] })), [[3, 4, 5]]);
    assert.deepEqual(blobShapes(run('type: "Scale" bottom: "x" top: "y" scale_param { axis: -2 num_axes: 2 }', { x: [2, 3, 4, 5] })), [[4, 5]]);
  });
  it('num_axes 0: a scalar scale, a blob with no axes', () => {
    assert.deepEqual(blobShapes(run('type: "Scale" bottom: "x" top: "y" scale_param { num_axes: 0 }', { x: [2, 3] })), [[]]);
  });
  it('two bottoms: the second is the scale (3x4 matches axes 1-2 of 2x3x4x5), no scale blob; the bias spans the same axes', () => {
    const r = run('type: "Scale" bottom: "x" bottom: "s" top: "y" scale_param { bias_term: true }', { x: [2, 3, 4, 5], s: [3, 4] });
    assert.deepEqual(r.tops, [[2, 3, 4, 5]]);
    assert.deepEqual(blobShapes(r), [[3, 4]]);
    assert.deepEqual(roles(r), ['bias']);
  });
  it('refuses a scale input that does not match, and bad num_axes', () => {
    assert.throws(() => run('type: "Scale" bottom: "x" bottom: "s" top: "y"', { x: [2, 3, 4, 5], s: [3, 5] }),
      /scale input's axis 1 is 5 but the first input's axis 2 is 4/);
    assert.throws(() => run('type: "Scale" bottom: "x" top: "y" scale_param { num_axes: -2 }', { x: [2, 3] }), /scale_param.num_axes is -2/);
    assert.throws(() => run('type: "Scale" bottom: "x" top: "y" scale_param { num_axes: 4 }', { x: [2, 3, 4, 5] }), /axis 1 \+ num_axes 4 is more than its 4 axes/);
  });
});

describe('Bias', () => {
  it('axis 2, num_axes 2 of 2x3x4x5: bias [4, 5]', () => {
    const r = run('type: "Bias" bottom: "x" top: "y" bias_param { axis: 2 num_axes: 2 }', { x: [2, 3, 4, 5] });
    assert.deepEqual(r.tops, [[2, 3, 4, 5]]);
    assert.deepEqual(blobShapes(r), [[4, 5]]);
  });
  it('two bottoms: no blob', () => {
    assert.deepEqual(blobShapes(run('type: "Bias" bottom: "x" bottom: "b" top: "y"', { x: [2, 3, 4, 5], b: [3] })), []);
  });
  it('refuses an axis out of range', () => {
    assert.throws(() => run('type: "Bias" bottom: "x" top: "y" bias_param { axis: 4 }', { x: [2, 3, 4, 5] }), /bias_param.axis 4 is out of range/);
  });
});

describe('BN', () => {
  it('SegNet: blobs scale, shift [1, C, 1, 1]; in LEARN mode tops 2 and 3 are the batch mean and variance [1, C, 1, 1]', () => {
    const r = run('type: "BN" bottom: "x" top: "y" top: "m" top: "v" bn_param { scale_filler { type: "constant" value: 1 } }', { x: [4, 64, 90, 120] }, { dialect: 'segnet' });
    assert.deepEqual(r.tops, [[4, 64, 90, 120], [1, 64, 1, 1], [1, 64, 1, 1]]);
    assert.deepEqual(blobShapes(r), [[1, 64, 1, 1], [1, 64, 1, 1]]);
    assert.deepEqual(roles(r), ['scale', 'shift']);
  });
  it('SegNet reshapes the output as num x channels x height x width: a 4x64 input gives 4x64x1x1', () => {
    assert.deepEqual(run('type: "BN" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE }', { x: [4, 64] }, { dialect: 'enet' }).tops, [[4, 64, 1, 1]]);
  });
  it('SegNet INFERENCE mode has one top only', () => {
    assert.throws(() => run('type: "BN" bottom: "x" top: "y" top: "m" bn_param { bn_mode: INFERENCE }', { x: [1, 8, 4, 4] }, { dialect: 'segnet' }), /only bn_mode LEARN/);
  });
  it('PSPNet: scale (slope), shift (bias), running mean, running variance, each [1, C, 1, 1]; same shape out', () => {
    const r = run('type: "BN" bottom: "x" top: "x" bn_param { frozen: true }', { x: [1, 512, 60, 60] }, { dialect: 'pspnet' });
    assert.deepEqual(r.tops, [[1, 512, 60, 60]]);
    assert.deepEqual(blobShapes(r), [[1, 512, 1, 1], [1, 512, 1, 1], [1, 512, 1, 1], [1, 512, 1, 1]]);
    assert.deepEqual(roles(r), ['scale', 'shift', 'mean', 'variance']);
  });
  it('a dialect without BN of its own (bvlc) uses the 4-blob layout; extra tops and 5-D inputs are refused', () => {
    assert.deepEqual(blobShapes(run('type: "BN" bottom: "x" top: "y"', { x: [2, 3, 4, 4] }, { dialect: 'bvlc' })), [[1, 3, 1, 1], [1, 3, 1, 1], [1, 3, 1, 1], [1, 3, 1, 1]]);
    assert.throws(() => run('type: "BN" bottom: "x" top: "y" top: "z"', { x: [2, 3, 4, 4] }, { dialect: 'pspnet' }), /exactly 1 top in dialect pspnet/);
    assert.throws(() => run('type: "BN" bottom: "x" top: "y"', { x: [1, 2, 3, 4, 5] }, { dialect: 'pspnet' }), /cannot take a 5-D input/);
  });
});

describe('Normalize', () => {
  it('SSD conv4_3_norm: scale [512] without channel_shared, a 0-axis scalar with it (the default)', () => {
    const r = run('type: "Normalize" bottom: "x" top: "y" norm_param { across_spatial: false channel_shared: false }', { x: [1, 512, 38, 38] }, { dialect: 'ssd' });
    assert.deepEqual(r.tops, [[1, 512, 38, 38]]);
    assert.deepEqual(blobShapes(r), [[512]]);
    assert.deepEqual(blobShapes(run('type: "Normalize" bottom: "x" top: "y"', { x: [1, 512, 38, 38] }, { dialect: 'ssd' })), [[]]);
  });
  it('needs at least 2 axes', () => {
    assert.throws(() => run('type: "Normalize" bottom: "x" top: "y"', { x: [5] }, { dialect: 'ssd' }), /at least 2 axes/);
  });
});

describe('Data', () => {
  it('data shape unknown (from the database), label [batch_size]', () => {
    const r = run('type: "Data" top: "data" top: "label" data_param { source: "train_lmdb" batch_size: 64 backend: LMDB } transform_param { crop_size: 227 }', {});
    assert.deepEqual(r.tops, [undefined, [64]]);
  });
  it('refuses a missing batch size', () => {
    assert.throws(() => run('type: "Data" top: "data" data_param { source: "x" }', {}), /data_param.batch_size is 0/);
  });
});

describe('ImageData', () => {
  it('resized to 256x256 then cropped to 227: [50, 3, 227, 227] and label [50]', () => {
    const r = run('type: "ImageData" top: "data" top: "label" image_data_param { source: "list.txt" batch_size: 50 new_height: 256 new_width: 256 } transform_param { crop_size: 227 }', {});
    assert.deepEqual(r.tops, [[50, 3, 227, 227], [50]]);
  });
  it('gray, resized to 32x32 without a crop: [10, 1, 32, 32]; a crop alone fixes the size: [8, 3, 224, 224]', () => {
    assert.deepEqual(run('type: "ImageData" top: "d" top: "l" image_data_param { batch_size: 10 new_height: 32 new_width: 32 is_color: false }', {}).tops, [[10, 1, 32, 32], [10]]);
    assert.deepEqual(run('type: "ImageData" top: "d" top: "l" image_data_param { batch_size: 8 } transform_param { crop_size: 224 }', {}).tops, [[8, 3, 224, 224], [8]]);
  });
  it('without a resize or a crop the images keep their own size: data unknown', () => {
    assert.deepEqual(run('type: "ImageData" top: "d" top: "l" image_data_param { batch_size: 8 }', {}).tops, [undefined, [8]]);
  });
  it('SSD: resize_param height/width replace the image size: [4, 3, 300, 300]', () => {
    const r = run('type: "ImageData" top: "d" top: "l" image_data_param { batch_size: 4 } transform_param { resize_param { height: 300 width: 300 } }', {}, { dialect: 'ssd' });
    assert.deepEqual(r.tops, [[4, 3, 300, 300], [4]]);
  });
  it('refuses new_height without new_width, and a crop larger than the resized image', () => {
    assert.throws(() => run('type: "ImageData" top: "d" top: "l" image_data_param { batch_size: 1 new_height: 256 }', {}), /give both \(to resize every image\) or neither/);
    assert.throws(() => run('type: "ImageData" top: "d" top: "l" image_data_param { batch_size: 1 new_height: 256 new_width: 256 } transform_param { crop_size: 300 }', {}),
      /crop height 300 \(transform_param\) is larger than the image height 256/);
  });
});

describe('DenseImageData', () => {
  it('SegNet, resized to 360x480: data [4, 3, 360, 480], label [4, 1, 360, 480]; crop_height/width 224x320 win', () => {
    assert.deepEqual(run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { source: "train.txt" batch_size: 4 new_height: 360 new_width: 480 }', {}, { dialect: 'segnet' }).tops,
      [[4, 3, 360, 480], [4, 1, 360, 480]]);
    assert.deepEqual(run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { batch_size: 2 new_height: 360 new_width: 480 crop_height: 224 crop_width: 320 }', {}, { dialect: 'segnet' }).tops,
      [[2, 3, 224, 320], [2, 1, 224, 320]]);
  });
  it('ENet: label_divide_factor 8 on 512x1024 gives a label of 512/8 x 1024/8 = 64 x 128', () => {
    const r = run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { batch_size: 2 new_height: 512 new_width: 1024 label_divide_factor: 8 }', {}, { dialect: 'enet' });
    assert.deepEqual(r.tops, [[2, 3, 512, 1024], [2, 1, 64, 128]]);
    // A transform_param crop_size comes first and is not divided: 480x480 for both.
    const c = run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { batch_size: 2 new_height: 512 new_width: 1024 label_divide_factor: 8 crop_height: 256 crop_width: 256 } transform_param { crop_size: 480 }', {}, { dialect: 'enet' });
    assert.deepEqual(c.tops, [[2, 3, 480, 480], [2, 1, 480, 480]]);
  });
  it('unknown without a size; refuses crop_height alone and SegNet transform_param crops', () => {
    assert.deepEqual(run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { batch_size: 1 }', {}, { dialect: 'segnet' }).tops, [undefined, undefined]);
    assert.throws(() => run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { batch_size: 1 crop_height: 100 }', {}, { dialect: 'segnet' }), /give both or neither/);
    assert.throws(() => run('type: "DenseImageData" top: "d" top: "l" dense_image_data_param { batch_size: 1 } transform_param { crop_size: 100 }', {}, { dialect: 'segnet' }),
      /cannot use transform_param crop_size or mirror/);
  });
});

describe('ImageSegData', () => {
  it('DeepLab crop_size 321, batch 10: data [10, 3, 321, 321], label [10, 1, 321, 321], image sizes [10, 1, 1, 2]', () => {
    const r = run('type: "ImageSegData" top: "data" top: "label" top: "data_dim" image_data_param { source: "train.txt" batch_size: 10 label_type: PIXEL } transform_param { crop_size: 321 mirror: true }', {}, { dialect: 'deeplab' });
    assert.deepEqual(r.tops, [[10, 3, 321, 321], [10, 1, 321, 321], [10, 1, 1, 2]]);
  });
  it('crop_height x crop_width 200 x 300 with two tops listed (Caffe adds the third itself)', () => {
    const r = run('type: "ImageSegData" top: "data" top: "label" image_data_param { batch_size: 1 } transform_param { crop_height: 200 crop_width: 300 }', {}, { dialect: 'deeplab' });
    assert.deepEqual(r.tops, [[1, 3, 200, 300], [1, 1, 200, 300]]);
  });
  it('refuses crop_size with crop_height, and a mean_file', () => {
    assert.throws(() => run('type: "ImageSegData" top: "d" top: "l" image_data_param { batch_size: 1 } transform_param { crop_size: 321 crop_height: 200 crop_width: 300 }', {}, { dialect: 'deeplab' }),
      /either crop_size, or both crop_height and crop_width/);
    assert.throws(() => run('type: "ImageSegData" top: "d" top: "l" image_data_param { batch_size: 1 } transform_param { mean_file: "m.binaryproto" }', {}, { dialect: 'deeplab' }), /does not support transform_param.mean_file/);
  });
});

describe('MemoryData, DummyData, WindowData, HDF5Data, HDF5Output, AnnotatedData, VideoData, Python', () => {
  it('MemoryData: [batch_size, channels, height, width] and label [batch_size]', () => {
    assert.deepEqual(run('type: "MemoryData" top: "d" top: "l" memory_data_param { batch_size: 64 channels: 1 height: 28 width: 28 }', {}).tops, [[64, 1, 28, 28], [64]]);
    assert.throws(() => run('type: "MemoryData" top: "d" top: "l" memory_data_param { batch_size: 64 channels: 1 height: 28 }', {}), /all given and positive, got 64, 1, 28, 0/);
  });
  it('DummyData: one shape for all tops, one per top, or legacy num/channels/height/width (each once or per top)', () => {
    assert.deepEqual(run('type: "DummyData" top: "a" top: "b" dummy_data_param { shape { dim: 2 dim: 3 } }', {}).tops, [[2, 3], [2, 3]]);
    assert.deepEqual(run('type: "DummyData" top: "a" top: "b" dummy_data_param { shape { dim: 2 dim: 3 } shape { dim: 5 } }', {}).tops, [[2, 3], [5]]);
    assert.deepEqual(run('type: "DummyData" top: "a" top: "b" dummy_data_param { num: 1 num: 2 channels: 3 height: 4 width: 4 }', {}).tops, [[1, 3, 4, 4], [2, 3, 4, 4]]);
  });
  it('DummyData refuses mixed forms and counts that fit neither one nor every top', () => {
    assert.throws(() => run('type: "DummyData" top: "a" dummy_data_param { shape { dim: 1 } num: 1 channels: 1 height: 1 width: 1 }', {}), /both shape and the legacy/);
    assert.throws(() => run('type: "DummyData" top: "a" top: "b" top: "c" dummy_data_param { shape { dim: 1 } shape { dim: 2 } }', {}), /2 shape for 3 tops/);
    assert.throws(() => run('type: "DummyData" top: "a" dummy_data_param { num: 1 channels: 1 height: 1 }', {}), /0 width for 1 tops/);
    assert.throws(() => run('type: "DummyData" top: "a" top: "b" top: "c" dummy_data_param { shape { dim: 1 } data_filler { type: "constant" } data_filler { type: "constant" } }', {}),
      /2 data_filler for 3 tops/);
  });
  it('WindowData: channels come from the window file (unknown), label [batch_size]; needs a crop_size', () => {
    assert.deepEqual(run('type: "WindowData" top: "d" top: "l" window_data_param { source: "w.txt" batch_size: 128 } transform_param { crop_size: 227 }', {}).tops, [undefined, [128]]);
    assert.throws(() => run('type: "WindowData" top: "d" top: "l" window_data_param { batch_size: 128 }', {}), /transform_param.crop_size, which must be given/);
  });
  it('HDF5Data: every top unknown; HDF5Output: no tops, same batch size in both inputs', () => {
    assert.deepEqual(run('type: "HDF5Data" top: "data" top: "label" hdf5_data_param { source: "files.txt" batch_size: 10 }', {}).tops, [undefined, undefined]);
    assert.deepEqual(run('type: "HDF5Output" bottom: "d" bottom: "l" hdf5_output_param { file_name: "out.h5" }', { d: [10, 3], l: [10] }).tops, []);
    assert.throws(() => run('type: "HDF5Output" bottom: "d" bottom: "l"', { d: [10, 3], l: [9] }), /same batch size/);
  });
  it('AnnotatedData: both tops depend on the data; VideoData: label [batch_size], a VIDEO needs its file', () => {
    assert.deepEqual(run('type: "AnnotatedData" top: "data" top: "label" data_param { source: "lmdb" batch_size: 32 } transform_param { resize_param { height: 300 width: 300 } }', {}, { dialect: 'ssd' }).tops, [undefined, undefined]);
    assert.deepEqual(run('type: "VideoData" top: "data" top: "label" data_param { batch_size: 1 } video_data_param { video_type: WEBCAM }', {}, { dialect: 'ssd' }).tops, [undefined, [1]]);
    assert.throws(() => run('type: "VideoData" top: "data" data_param { batch_size: 1 } video_data_param { video_type: VIDEO }', {}, { dialect: 'ssd' }), /video_file is required/);
  });
  it('Python: top shapes unknown, any number of bottoms and tops', () => {
    const r = run('type: "Python" bottom: "x" top: "a" top: "b" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" }', { x: [1, 18, 14, 14] });
    assert.deepEqual(r.tops, [undefined, undefined]);
  });
});

describe('LSTM', () => {
  it('x 20x4x100, cont 20x4, num_output 256: h [20, 4, 256]; W_xc [4*256, 100], b_c [1024], W_hc [1024, 256]', () => {
    const r = run('type: "LSTM" bottom: "x" bottom: "cont" top: "h" recurrent_param { num_output: 256 }', { x: [20, 4, 100], cont: [20, 4] });
    assert.deepEqual(r.tops, [[20, 4, 256]]);
    assert.deepEqual(blobShapes(r), [[1024, 100], [1024], [1024, 256]]);
    assert.deepEqual(roles(r), ['W_xc', 'b_c', 'W_hc']);
    // T*N = 80 steps of 1024 gate values, each a dot product over 100 inputs plus 256 hidden values.
    assert.equal(r.macs, 80 * 1024 * (100 + 256));
  });
  it('features after axis 2 flatten (3x4 = 12); a static input 4x10x5 adds W_xc_static [1024, 50] before W_hc', () => {
    const r = run('type: "LSTM" bottom: "x" bottom: "cont" bottom: "s" top: "h" recurrent_param { num_output: 256 }', { x: [5, 4, 3, 4], cont: [5, 4], s: [4, 10, 5] });
    assert.deepEqual(r.tops, [[5, 4, 256]]);
    assert.deepEqual(blobShapes(r), [[1024, 12], [1024], [1024, 50], [1024, 256]]);
  });
  it('expose_hidden: bottoms h_0, c_0 [1, N, H]; tops h, h_T, c_T', () => {
    const r = run('type: "LSTM" bottom: "x" bottom: "cont" bottom: "h0" bottom: "c0" top: "h" top: "hT" top: "cT" recurrent_param { num_output: 8 expose_hidden: true }',
      { x: [3, 2, 5], cont: [3, 2], h0: [1, 2, 8], c0: [1, 2, 8] });
    assert.deepEqual(r.tops, [[3, 2, 8], [1, 2, 8], [1, 2, 8]]);
  });
  it('refuses a cont of the wrong shape, a missing num_output, x without feature axes, and wrong exposed states', () => {
    assert.throws(() => run('type: "LSTM" bottom: "x" bottom: "cont" top: "h" recurrent_param { num_output: 8 }', { x: [20, 4, 100], cont: [20, 5] }), /cont must be \[T, N\] = 20x4/);
    assert.throws(() => run('type: "LSTM" bottom: "x" bottom: "cont" top: "h"', { x: [20, 4, 100], cont: [20, 4] }), /num_output must be given and positive/);
    assert.throws(() => run('type: "LSTM" bottom: "x" bottom: "cont" top: "h" recurrent_param { num_output: 8 }', { x: [20, 4], cont: [20, 4] }), /at least 3 axes/);
    assert.throws(() => run('type: "LSTM" bottom: "x" bottom: "cont" bottom: "h0" bottom: "c0" top: "h" top: "hT" top: "cT" recurrent_param { num_output: 8 expose_hidden: true }',
      { x: [3, 2, 5], cont: [3, 2], h0: [1, 2, 8], c0: [1, 2, 7] }), /initial state c_0 \(bottom 3\) must be \[1, N, num_output\] = 1x2x8/);
    assert.throws(() => run('type: "LSTM" bottom: "x" bottom: "cont" bottom: "h0" bottom: "c0" top: "h" recurrent_param { num_output: 8 expose_hidden: true }',
      { x: [3, 2, 5], cont: [3, 2], h0: [1, 2, 8], c0: [1, 2, 8] }), /exactly 3 tops/);
  });
});

describe('RNN', () => {
  it('x 10x2x8, num_output 16: o [10, 2, 16]; W_xh [16, 8], b_h [16], W_hh [16, 16], W_ho [16, 16], b_o [16]', () => {
    const r = run('type: "RNN" bottom: "x" bottom: "cont" top: "o" recurrent_param { num_output: 16 }', { x: [10, 2, 8], cont: [10, 2] });
    assert.deepEqual(r.tops, [[10, 2, 16]]);
    assert.deepEqual(blobShapes(r), [[16, 8], [16], [16, 16], [16, 16], [16]]);
    assert.deepEqual(roles(r), ['W_xh', 'b_h', 'W_hh', 'W_ho', 'b_o']);
    // 20 steps x 16 outputs x (8 input + 16 hidden + 16 output-transform) products.
    assert.equal(r.macs, 20 * 16 * (8 + 16 + 16));
  });
  it('a static input 2x6 adds W_xh_static [16, 6] third; expose_hidden adds h_0 in and h_T out', () => {
    const r = run('type: "RNN" bottom: "x" bottom: "cont" bottom: "s" bottom: "h0" top: "o" top: "hT" recurrent_param { num_output: 16 expose_hidden: true }',
      { x: [10, 2, 8], cont: [10, 2], s: [2, 6], h0: [1, 2, 16] });
    assert.deepEqual(r.tops, [[10, 2, 16], [1, 2, 16]]);
    assert.deepEqual(blobShapes(r), [[16, 8], [16], [16, 6], [16, 16], [16, 16], [16]]);
  });
  it('refuses a static input whose first axis is not N', () => {
    assert.throws(() => run('type: "RNN" bottom: "x" bottom: "cont" bottom: "s" top: "o" recurrent_param { num_output: 16 }', { x: [10, 2, 8], cont: [10, 2], s: [3, 6] }),
      /static input must be \[N, \.\.\.\] with N = 2/);
  });
});

describe('LSTMUnit', () => {
  it('c_prev 1x4x32, gates 1x4x128 (4 x 32), cont 1x4: c and h 1x4x32', () => {
    const r = run('type: "LSTMUnit" bottom: "c" bottom: "g" bottom: "cont" top: "c1" top: "h1"', { c: [1, 4, 32], g: [1, 4, 128], cont: [1, 4] });
    assert.deepEqual(r.tops, [[1, 4, 32], [1, 4, 32]]);
    assert.deepEqual(blobShapes(r), []);
  });
  it('refuses gate inputs that are not 4 x the cell count', () => {
    assert.throws(() => run('type: "LSTMUnit" bottom: "c" bottom: "g" bottom: "cont" top: "c1" top: "h1"', { c: [1, 4, 32], g: [1, 4, 100], cont: [1, 4] }), /4 x 32 = 128 values per stream/);
  });
});
