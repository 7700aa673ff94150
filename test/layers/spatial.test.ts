// Deconvolution, ConvolutionDepthwise, Im2col, SPP, Crop, LRN, Embed, ROIPooling, Upsample and Interp shapes,
// worked out by hand from Caffe's (and its forks') formulas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobShapes, run } from './helpers.js';

describe('Deconvolution', () => {
  it('FCN-style 2x upsampling: 2(8 - 1) + (4 - 1) + 1 - 2x1 = 16; weights [C_in 16, num_output 8, 4, 4]', () => {
    const r = run('type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 8 kernel_size: 4 stride: 2 pad: 1 }', { x: [2, 16, 8, 8] });
    assert.deepEqual(r.tops, [[2, 8, 16, 16]]);
    assert.deepEqual(blobShapes(r), [[16, 8, 4, 4], [8]]);
    // every input value (2*16*8*8 = 2048) meets 8 outputs x 16 taps
    assert.equal(r.macs, 2048 * 8 * 16);
  });
  it('groups, dilation and _h/_w: H 2(5 - 1) + 2(3 - 1) + 1 = 13, W 1(5 - 1) + 2(1 - 1) + 1 = 5; weights [4, 6/2, 3, 1]', () => {
    const r = run('type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 6 group: 2 kernel_h: 3 kernel_w: 1 stride_h: 2 stride_w: 1 dilation: 2 bias_term: false }', { x: [1, 4, 5, 5] });
    assert.deepEqual(r.tops, [[1, 6, 13, 5]]);
    assert.deepEqual(blobShapes(r), [[4, 3, 3, 1]]);
  });
  it('refuses a pad that empties the output: 1(2 - 1) + 2 - 2x2 = -1', () => {
    assert.throws(() => run('type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 1 kernel_size: 2 pad: 2 }', { x: [1, 1, 2, 2] }),
      /pad 2 is too large for input 2/);
  });
  it('refuses num_output that does not divide into the groups', () => {
    assert.throws(() => run('type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 5 group: 2 kernel_size: 2 }', { x: [1, 4, 3, 3] }),
      /num_output 5 does not divide into group 2/);
  });
});

describe('ConvolutionDepthwise', () => {
  it('MobileNet conv2_2/dw: (112 + 2x1 - 3)/2 + 1 = 56; weights [32, 1, 3, 3], bias [32]', () => {
    const r = run('type: "ConvolutionDepthwise" bottom: "x" top: "y" convolution_param { num_output: 32 group: 32 kernel_size: 3 pad: 1 stride: 2 }', { x: [1, 32, 112, 112] });
    assert.deepEqual(r.tops, [[1, 32, 56, 56]]);
    assert.deepEqual(blobShapes(r), [[32, 1, 3, 3], [32]]);
    assert.equal(r.macs, 32 * 56 * 56 * 9);
  });
  it('keeps the input channels whatever num_output and group say (Caffe ignores both); stride defaults to 1: (10 - 3)/1 + 1 = 8', () => {
    const r = run('type: "ConvolutionDepthwise" bottom: "x" top: "y" convolution_param { num_output: 64 kernel_size: 3 bias_term: false }', { x: [2, 16, 10, 10] });
    assert.deepEqual(r.tops, [[2, 16, 8, 8]]);
    assert.deepEqual(blobShapes(r), [[16, 1, 3, 3]]);
  });
  it('kernel (h, w) from two kernel_size values and dilation 2: H (9 - (2x2 + 1))/1 + 1 = 5, W (9 - (2x4 + 1))/1 + 1 = 1', () => {
    const r = run('type: "ConvolutionDepthwise" bottom: "x" top: "y" convolution_param { kernel_size: 3 kernel_size: 5 dilation: 2 }', { x: [1, 4, 9, 9] });
    assert.deepEqual(r.tops, [[1, 4, 5, 1]]);
    assert.deepEqual(blobShapes(r), [[4, 1, 3, 5], [4]]);
  });
  it('refuses a kernel larger than the padded input, and a missing kernel', () => {
    assert.throws(() => run('type: "ConvolutionDepthwise" bottom: "x" top: "y" convolution_param { kernel_size: 5 }', { x: [1, 4, 3, 3] }),
      /kernel \(extent 5\) is larger than the padded input \(3 \+ 2x0\) on the height axis/);
    assert.throws(() => run('type: "ConvolutionDepthwise" bottom: "x" top: "y" convolution_param { num_output: 4 }', { x: [1, 4, 3, 3] }),
      /kernel_size \(or both kernel_h and kernel_w\) is required/);
  });
});

describe('Im2col', () => {
  it('3x3 windows, stride 2, pad 1: C 3 x 9 = 27, (10 + 2 - 3)/2 + 1 = 5; no num_output needed, no blobs', () => {
    const r = run('type: "Im2col" bottom: "x" top: "y" convolution_param { kernel_size: 3 stride: 2 pad: 1 }', { x: [2, 3, 10, 10] });
    assert.deepEqual(r.tops, [[2, 27, 5, 5]]);
    assert.deepEqual(blobShapes(r), []);
  });
  it('kernel_h/kernel_w: C 3 x (3 x 2) = 18, H (10 - 3) + 1 = 8, W (10 - 2) + 1 = 9', () => {
    assert.deepEqual(run('type: "Im2col" bottom: "x" top: "y" convolution_param { kernel_h: 3 kernel_w: 2 }', { x: [1, 3, 10, 10] }).tops, [[1, 18, 8, 9]]);
  });
  it('refuses a kernel larger than the padded input', () => {
    assert.throws(() => run('type: "Im2col" bottom: "x" top: "y" convolution_param { kernel_size: 3 }', { x: [1, 1, 2, 2] }), /kernel \(3\) is larger than the padded input/);
  });
});

describe('SPP', () => {
  it('pyramid 3 on 13x13: level 0 1x1; level 1 k 7 pad 1: ceil((13 + 2 - 7)/7) + 1 = 3, 2x7 >= 13 + 1 so 2; level 2 k 4 pad 2: ceil(13/4) + 1 = 5, 4x4 >= 15 so 4; 256 x (1 + 4 + 16) = 5376', () => {
    assert.deepEqual(run('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 3 }', { x: [1, 256, 13, 13] }).tops, [[1, 5376]]);
  });
  it('non-square 6x10, pyramid 2: level 1 H k 3 pad 0 -> 2, W k 5 pad 0 -> 2; 8 x (1 + 4) = 40', () => {
    assert.deepEqual(run('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 2 pool: AVE }', { x: [2, 8, 6, 10] }).tops, [[2, 40]]);
  });
  it('pyramid 1 is the pooling output itself, not flattened: [N, C, 1, 1]', () => {
    assert.deepEqual(run('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 1 }', { x: [1, 256, 13, 13] }).tops, [[1, 256, 1, 1]]);
  });
  it('refuses a pyramid too tall for the input: 5x5 level 2 gives kernel ceil(5/4) = 2 and pad (8 - 5 + 1)/2 = 2', () => {
    assert.throws(() => run('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 3 }', { x: [1, 1, 5, 5] }), /kernel 2 with pad 2, but Caffe's pooling needs pad < kernel/);
  });
  it('refuses padded STOCHASTIC levels and a missing pyramid_height', () => {
    assert.throws(() => run('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 2 pool: STOCHASTIC }', { x: [1, 1, 13, 13] }), /only implements for MAX and AVE, not STOCHASTIC/);
    assert.throws(() => run('type: "SPP" bottom: "x" top: "y" spp_param { pool: MAX }', { x: [1, 1, 13, 13] }), /pyramid_height must be given/);
  });
});

describe('Crop', () => {
  it('FCN score crop from axis 2 with one offset: 5 + 32 <= 44 on both axes', () => {
    const r = run('type: "Crop" bottom: "x" bottom: "ref" top: "y" crop_param { axis: 2 offset: 5 }', { x: [1, 21, 44, 44], ref: [1, 3, 32, 32] });
    assert.deepEqual(r.tops, [[1, 21, 32, 32]]);
  });
  it('one offset per axis from axis 1: 1 + 4 <= 10, 2 + 8 <= 20, 3 + 9 <= 30', () => {
    const r = run('type: "Crop" bottom: "x" bottom: "ref" top: "y" crop_param { axis: 1 offset: 1 offset: 2 offset: 3 }', { x: [2, 10, 20, 30], ref: [7, 4, 8, 9] });
    assert.deepEqual(r.tops, [[2, 4, 8, 9]]);
  });
  it('refuses an out-of-bounds crop, naming the axis: 13 + 32 > 44', () => {
    assert.throws(() => run('type: "Crop" bottom: "x" bottom: "ref" top: "y" crop_param { offset: 13 }', { x: [1, 21, 44, 44], ref: [1, 3, 32, 32] }),
      /the crop on axis 2 is out of bounds: offset 13 \+ size 32 exceeds the input's 44/);
  });
  it('refuses a wrong number of offsets and a single bottom', () => {
    assert.throws(() => run('type: "Crop" bottom: "x" bottom: "ref" top: "y" crop_param { offset: 1 offset: 2 offset: 3 }', { x: [1, 21, 44, 44], ref: [1, 3, 32, 32] }),
      /3 offsets, but cropping from axis 2 of a 4-D input needs 2/);
    assert.throws(() => run('type: "Crop" bottom: "x" top: "y"', { x: [1, 21, 44, 44] }), /takes exactly 2 bottoms/);
  });
});

describe('LRN', () => {
  it('AlexNet norm1 keeps the shape, across or within channels', () => {
    assert.deepEqual(run('type: "LRN" bottom: "x" top: "y" lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }', { x: [10, 96, 55, 55] }).tops, [[10, 96, 55, 55]]);
    assert.deepEqual(run('type: "LRN" bottom: "x" top: "y" lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL }', { x: [1, 8, 7, 5] }).tops, [[1, 8, 7, 5]]);
  });
  it('refuses an even local_size and a non-4-D input', () => {
    assert.throws(() => run('type: "LRN" bottom: "x" top: "y" lrn_param { local_size: 4 }', { x: [1, 8, 7, 5] }), /local_size must be odd .* got 4/);
    assert.throws(() => run('type: "LRN" bottom: "x" top: "y"', { x: [10, 96] }), /LRN needs a 4-D input \(N, C, H, W\), got 2-D/);
  });
});

describe('Embed', () => {
  it('appends num_output to the input shape: [4, 7] -> [4, 7, 16]; weights [input_dim 1000, 16], bias [16]', () => {
    const r = run('type: "Embed" bottom: "x" top: "y" embed_param { num_output: 16 input_dim: 1000 }', { x: [4, 7] });
    assert.deepEqual(r.tops, [[4, 7, 16]]);
    assert.deepEqual(blobShapes(r), [[1000, 16], [16]]);
  });
  it('bias_term false: one blob; a missing input_dim is refused', () => {
    assert.deepEqual(blobShapes(run('type: "Embed" bottom: "x" top: "y" embed_param { num_output: 3 input_dim: 10 bias_term: false }', { x: [5] })), [[10, 3]]);
    assert.throws(() => run('type: "Embed" bottom: "x" top: "y" embed_param { num_output: 3 }', { x: [5] }), /input_dim must be given and positive/);
  });
});

describe('ROIPooling', () => {
  it('Fast R-CNN VGG16 roi_pool5: [R 128, C 512, 7, 7], whatever the feature map size', () => {
    const r = run('type: "ROIPooling" bottom: "conv5_3" bottom: "rois" top: "pool5" roi_pooling_param { pooled_w: 7 pooled_h: 7 spatial_scale: 0.0625 }',
      { conv5_3: [1, 512, 38, 50], rois: [128, 5] });
    assert.deepEqual(r.tops, [[128, 512, 7, 7]]);
  });
  it('rois as [R, 5, 1, 1] are accepted (channels x height x width = 5)', () => {
    const r = run('type: "ROIPooling" bottom: "f" bottom: "rois" top: "y" roi_pooling_param { pooled_w: 6 pooled_h: 4 }', { f: [2, 256, 20, 20], rois: [300, 5, 1, 1] });
    assert.deepEqual(r.tops, [[300, 256, 4, 6]]);
  });
  it('refuses rois without 5 values each, and a missing pooled size', () => {
    assert.throws(() => run('type: "ROIPooling" bottom: "f" bottom: "rois" top: "y" roi_pooling_param { pooled_w: 7 pooled_h: 7 }', { f: [1, 8, 20, 20], rois: [1, 1, 300, 5] }),
      /must hold 5 values per ROI .* got 1x1x300x5/);
    assert.throws(() => run('type: "ROIPooling" bottom: "f" bottom: "rois" top: "y" roi_pooling_param { pooled_w: 7 }', { f: [1, 8, 20, 20], rois: [4, 5] }),
      /pooled_h must be given and positive/);
  });
  it('names the fork when the dialect has no roi_pooling_param (final PSPNet proto)', () => {
    assert.throws(() => run('type: "ROIPooling" bottom: "f" bottom: "rois" top: "y"', { f: [1, 8, 20, 20], rois: [4, 5] }, { dialect: 'pspnet' }),
      /roi_pooling_param is not part of the pspnet schema/);
  });
});

describe('Upsample', () => {
  it('SegNet unpooling with scale 2: [23, 30] -> [46, 60]', () => {
    const r = run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 2 }', { x: [1, 512, 23, 30], mask: [1, 512, 23, 30] });
    assert.deepEqual(r.tops, [[1, 512, 46, 60]]);
    assert.deepEqual(blobShapes(r), []);
  });
  it('upsample_h/upsample_w win; pad_out_h: 23 x 2 - 1 = 45; scale_h 2, scale_w 3: 46 x 90', () => {
    const two = { x: [1, 64, 23, 30], mask: [1, 64, 23, 30] };
    assert.deepEqual(run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { upsample_h: 45 upsample_w: 60 }', two).tops, [[1, 64, 45, 60]]);
    assert.deepEqual(run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 2 pad_out_h: true }', two).tops, [[1, 64, 45, 60]]);
    assert.deepEqual(run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale_h: 2 scale_w: 3 }', two).tops, [[1, 64, 46, 90]]);
  });
  it('ENet (upsample_param on field 147): 64x128 -> 128x256', () => {
    const r = run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 2 }', { x: [1, 16, 64, 128], mask: [1, 16, 64, 128] }, { dialect: 'enet' });
    assert.deepEqual(r.tops, [[1, 16, 128, 256]]);
  });
  it('one bottom: nearest-neighbour (YOLO ports), last two axes x scale: 13 x 2 = 26', () => {
    assert.deepEqual(run('type: "Upsample" bottom: "x" top: "y" upsample_param { scale: 2 }', { x: [1, 256, 13, 13] }).tops, [[1, 256, 26, 26]]);
  });
  it('refuses a mask of another shape, pad_out with scale 3, and scale together with scale_h/scale_w', () => {
    assert.throws(() => run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 2 }', { x: [1, 512, 23, 30], mask: [1, 512, 23, 31] }),
      /pooling mask \(bottom 1, 1x512x23x31\) must have the shape of the data \(bottom 0, 1x512x23x30\)/);
    assert.throws(() => run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 3 pad_out_w: true }', { x: [1, 1, 4, 4], mask: [1, 1, 4, 4] }),
      /pad_out_w needs scale_w 2 \(got 3\)/);
    assert.throws(() => run('type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 2 scale_h: 2 scale_w: 2 }', { x: [1, 1, 4, 4], mask: [1, 1, 4, 4] }),
      /needs upsample_h and upsample_w, or else \(deprecated\) either scale or both scale_h and scale_w/);
  });
});

describe('Interp', () => {
  it('DeepLab zoom_factor 8: 65 + (65 - 1) x 7 = 513', () => {
    assert.deepEqual(run('type: "Interp" bottom: "x" top: "y" interp_param { zoom_factor: 8 }', { x: [1, 21, 65, 65] }).tops, [[1, 21, 513, 513]]);
  });
  it('shrink_factor 8: (513 - 1)/8 + 1 = 65; shrink 2 then zoom 3: (11 - 1)/2 + 1 = 6, 6 + 5 x 2 = 16', () => {
    assert.deepEqual(run('type: "Interp" bottom: "x" top: "y" interp_param { shrink_factor: 8 }', { x: [1, 3, 513, 513] }).tops, [[1, 3, 65, 65]]);
    assert.deepEqual(run('type: "Interp" bottom: "x" top: "y" interp_param { shrink_factor: 2 zoom_factor: 3 }', { x: [1, 3, 11, 11] }).tops, [[1, 3, 16, 16]]);
  });
  it('crop pads: 10 - 1 - 1 = 8, zoom 2: 8 + 7 = 15; explicit height and width (PSPNet)', () => {
    assert.deepEqual(run('type: "Interp" bottom: "x" top: "y" interp_param { zoom_factor: 2 pad_beg: -1 pad_end: -1 }', { x: [1, 2, 10, 10] }).tops, [[1, 2, 15, 15]]);
    assert.deepEqual(run('type: "Interp" bottom: "x" top: "y" interp_param { height: 60 width: 40 }', { x: [1, 512, 1, 1] }, { dialect: 'pspnet' }).tops, [[1, 512, 60, 40]]);
  });
  it('Caffe\'s order: zoom_factor alone beats height/width (10 + 9 = 19); a second bottom is used only when nothing else is given', () => {
    assert.deepEqual(run('type: "Interp" bottom: "x" top: "y" interp_param { zoom_factor: 2 height: 50 width: 50 }', { x: [1, 2, 10, 10] }).tops, [[1, 2, 19, 19]]);
    assert.deepEqual(run('type: "Interp" bottom: "x" bottom: "ref" top: "y"', { x: [1, 21, 65, 65], ref: [1, 3, 513, 500] }, { dialect: 'deeplab' }).tops, [[1, 21, 513, 500]]);
  });
  it('refuses positive pads, a crop that leaves nothing, and no output size at all', () => {
    assert.throws(() => run('type: "Interp" bottom: "x" top: "y" interp_param { zoom_factor: 2 pad_beg: 1 }', { x: [1, 2, 10, 10] }), /pad_beg must be 0 or negative .* got 1/);
    assert.throws(() => run('type: "Interp" bottom: "x" top: "y" interp_param { zoom_factor: 2 pad_beg: -5 pad_end: -5 }', { x: [1, 2, 10, 10] }),
      /crop the whole 10x10 input away \(0x0 left\)/);
    assert.throws(() => run('type: "Interp" bottom: "x" top: "y" interp_param { height: 50 }', { x: [1, 2, 10, 10] }), /Interp has no output size/);
  });
});
