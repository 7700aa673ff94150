// Loss and metric layers and the SSD detection layers: shapes worked out by hand from Caffe's Reshape code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCaffeText } from '../../src/io/files.js';
import type { Shape } from '../../src/layers/types.js';
import { buildNet } from '../../src/net/net.js';
import { run } from './helpers.js';

/** The layer as the net builds it, with the dialect the text was read as (for loss weights and unknown shapes). */
function build(layer: string, inputs: Record<string, Shape>) {
  const input = Object.entries(inputs).map(([name, shape]) => `input: "${name}"\ninput_shape { ${shape.map((d) => `dim: ${d}`).join(' ')} }\n`).join('');
  const file = parseCaffeText(`${input}layer { name: "under_test" ${layer} }\n`, { kinds: ['net'] });
  const net = buildNet(file.message, { dialect: file.dialect });
  return { dialect: file.dialect, layer: net.layer('under_test')! };
}

describe('SoftmaxWithLoss', () => {
  it('segmentation: 2x21x10x10 scores, axis 1 -> outer*inner = 2*100 = 200 labels (2x1x10x10); loss [] and prob like the scores', () => {
    const r = run('type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" top: "prob"', { score: [2, 21, 10, 10], label: [2, 1, 10, 10] });
    assert.deepEqual(r.tops, [[], [2, 21, 10, 10]]);
  });
  it('softmax_param.axis 2 on 4x3x5: outer 4*3 = 12, inner 1 -> 12 labels', () => {
    assert.deepEqual(run('type: "SoftmaxWithLoss" bottom: "x" bottom: "l" top: "loss" softmax_param { axis: 2 }', { x: [4, 3, 5], l: [4, 3] }).tops, [[]]);
  });
  it('top 0 carries loss weight 1 by default, the prob top 0', () => {
    const { layer } = build('type: "SoftmaxWithLoss" bottom: "x" bottom: "l" top: "loss" top: "prob"', { x: [4, 10], l: [4] });
    assert.deepEqual(layer.lossWeights, [1, 0]);
  });
  it('refuses a label count other than outer*inner, naming both', () => {
    assert.throws(() => run('type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss"', { score: [2, 21, 10, 10], label: [2, 1, 5, 5] }),
      /label 'label' \(2x1x5x5\) has 50 values.*outer\*inner = 2\*100 = 200/);
  });
  it('refuses a batch mismatch (LossLayer: same first axis)', () => {
    assert.throws(() => run('type: "SoftmaxWithLoss" bottom: "x" bottom: "l" top: "loss"', { x: [2, 10], l: [3] }), /same first axis \(the batch\), got 2 and 3/);
  });
  it('SegNet class_weighting needs one weight per channel: 3 classes, 2 weights refused; 3 accepted', () => {
    const layer = (w: string) => `type: "SoftmaxWithLoss" bottom: "x" bottom: "l" top: "loss" loss_param { weight_by_label_freqs: true ${w} }`;
    assert.throws(() => run(layer('class_weighting: 0.2 class_weighting: 0.8'), { x: [1, 3, 4, 4], l: [1, 1, 4, 4] }),
      /class_weighting has 2 values but the scores 'x' have 3 classes/);
    assert.deepEqual(run(layer('class_weighting: 0.2 class_weighting: 0.3 class_weighting: 0.5'), { x: [1, 3, 4, 4], l: [1, 1, 4, 4] }).tops, [[]]);
  });
});

describe('EuclideanLoss', () => {
  it('8x3x2 against 8x6: 3*2 = 6 values per item each -> []', () => {
    assert.deepEqual(run('type: "EuclideanLoss" bottom: "a" bottom: "b" top: "loss"', { a: [8, 3, 2], b: [8, 6] }).tops, [[]]);
  });
  it('refuses 6 against 5 values per item', () => {
    assert.throws(() => run('type: "EuclideanLoss" bottom: "a" bottom: "b" top: "loss"', { a: [8, 3, 2], b: [8, 5] }), /same number of values per item: 6 and 5/);
  });
});

describe('SigmoidCrossEntropyLoss', () => {
  it('4x10 scores, 4x10 targets -> []', () => {
    assert.deepEqual(run('type: "SigmoidCrossEntropyLoss" bottom: "s" bottom: "t" top: "loss"', { s: [4, 10], t: [4, 10] }).tops, [[]]);
  });
  it('refuses counts 40 and 20', () => {
    assert.throws(() => run('type: "SigmoidCrossEntropyLoss" bottom: "s" bottom: "t" top: "loss"', { s: [4, 10], t: [4, 5] }), /same count, got 40 and 20/);
  });
});

describe('HingeLoss', () => {
  it('16x10 scores, 16 labels -> []', () => {
    assert.deepEqual(run('type: "HingeLoss" bottom: "s" bottom: "l" top: "loss" hinge_loss_param { norm: L2 }', { s: [16, 10], l: [16] }).tops, [[]]);
  });
  it('refuses batch 16 against 8', () => {
    assert.throws(() => run('type: "HingeLoss" bottom: "s" bottom: "l" top: "loss"', { s: [16, 10], l: [8] }), /got 16 and 8/);
  });
});

describe('InfogainLoss', () => {
  it('H as bottom 2: 5 classes need 5*5 = 25 values (1x1x5x5); labels 2*3*3 = 18; prob top like the scores', () => {
    const r = run('type: "InfogainLoss" bottom: "p" bottom: "l" bottom: "H" top: "loss" top: "prob"', { p: [2, 5, 3, 3], l: [2, 1, 3, 3], H: [1, 1, 5, 5] });
    assert.deepEqual(r.tops, [[], [2, 5, 3, 3]]);
  });
  it('H from infogain_loss_param.source with two bottoms', () => {
    assert.deepEqual(run('type: "InfogainLoss" bottom: "p" bottom: "l" top: "loss" infogain_loss_param { source: "H.binaryproto" }', { p: [8, 4], l: [8] }).tops, [[]]);
  });
  it('refuses a 4x4 matrix for 5 classes, a missing source and the deprecated normalize', () => {
    assert.throws(() => run('type: "InfogainLoss" bottom: "p" bottom: "l" bottom: "H" top: "loss"', { p: [2, 5], l: [2], H: [1, 1, 4, 4] }), /5x5 = 25 values, it has 16/);
    assert.throws(() => run('type: "InfogainLoss" bottom: "p" bottom: "l" top: "loss"', { p: [2, 5], l: [2] }), /infogain_loss_param.source/);
    assert.throws(() => run('type: "InfogainLoss" bottom: "p" bottom: "l" bottom: "H" top: "loss" loss_param { normalize: true }', { p: [2, 5], l: [2], H: [5, 5] }),
      /deprecated loss_param.normalize/);
  });
});

describe('MultinomialLogisticLoss', () => {
  it('10x5 probabilities, 10x1x1x1 labels -> []', () => {
    assert.deepEqual(run('type: "MultinomialLogisticLoss" bottom: "p" bottom: "l" top: "loss"', { p: [10, 5], l: [10, 1, 1, 1] }).tops, [[]]);
  });
  it('refuses a 10x2 label (channels must be 1)', () => {
    assert.throws(() => run('type: "MultinomialLogisticLoss" bottom: "p" bottom: "l" top: "loss"', { p: [10, 5], l: [10, 2] }), /one value per item.*got 10x2/);
  });
});

describe('ContrastiveLoss', () => {
  it('features 64x2 and 64x2, similarity 64 -> []', () => {
    assert.deepEqual(run('type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "sim" top: "loss" contrastive_loss_param { margin: 1 }', { a: [64, 2], b: [64, 2], sim: [64] }).tops, [[]]);
  });
  it('refuses different channels and a feature with height 2', () => {
    assert.throws(() => run('type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "sim" top: "loss"', { a: [64, 2], b: [64, 3], sim: [64] }), /same channels, got 2 and 3/);
    assert.throws(() => run('type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "sim" top: "loss"', { a: [64, 2, 2, 1], b: [64, 2], sim: [64] }), /height and width must be 1/);
  });
});

describe('SmoothL1Loss', () => {
  it('Fast R-CNN bbox loss: 128x84 predictions, targets, inside and outside weights -> []', () => {
    const r = run('type: "SmoothL1Loss" bottom: "pred" bottom: "t" bottom: "win" bottom: "wout" top: "loss" smooth_l1_loss_param { sigma: 3 }',
      { pred: [128, 84], t: [128, 84], win: [128, 84], wout: [128, 84] });
    assert.deepEqual(r.tops, [[]]);
  });
  it('refuses three bottoms and a channel mismatch', () => {
    assert.throws(() => run('type: "SmoothL1Loss" bottom: "p" bottom: "t" bottom: "w" top: "loss"', { p: [4, 8], t: [4, 8], w: [4, 8] }), /both the inside and the outside weights/);
    assert.throws(() => run('type: "SmoothL1Loss" bottom: "p" bottom: "t" top: "loss"', { p: [4, 8], t: [4, 6] }), /'t' \(4x6\) must match the predictions 'p' \(4x8\)/);
  });
});

describe('Accuracy', () => {
  it('100x10 scores, 100 labels -> []; with the per-class top [10]', () => {
    assert.deepEqual(run('type: "Accuracy" bottom: "s" bottom: "l" top: "acc"', { s: [100, 10], l: [100] }).tops, [[]]);
    assert.deepEqual(run('type: "Accuracy" bottom: "s" bottom: "l" top: "acc" top: "per_class"', { s: [100, 10], l: [100] }).tops, [[], [10]]);
  });
  it('segmentation axis 1: 2x21x8x8 with 2*8*8 = 128 labels, per-class top [21]', () => {
    assert.deepEqual(run('type: "Accuracy" bottom: "s" bottom: "l" top: "acc" top: "pc" accuracy_param { axis: 1 top_k: 5 }', { s: [2, 21, 8, 8], l: [2, 1, 8, 8] }).tops, [[], [21]]);
  });
  it('refuses top_k 11 over 1000/100 = 10 classes, and 32 labels for outer*inner = 2*64 = 128', () => {
    assert.throws(() => run('type: "Accuracy" bottom: "s" bottom: "l" top: "acc" accuracy_param { top_k: 11 }', { s: [100, 10], l: [100] }),
      /top_k 11 is more than the 10 classes/);
    assert.throws(() => run('type: "Accuracy" bottom: "s" bottom: "l" top: "acc"', { s: [2, 21, 8, 8], l: [2, 1, 4, 4] }), /has 32 values.*2\*64 = 128/);
  });
});

describe('SegAccuracy', () => {
  it('1x21x65x65 scores, 1x1x65x65 labels -> [1, 1, 1, 3] (accuracy, mean recall, mean IoU); read as DeepLab', () => {
    const layer = 'type: "SegAccuracy" bottom: "s" bottom: "l" top: "acc" seg_accuracy_param { ignore_label: 255 }';
    assert.deepEqual(run(layer, { s: [1, 21, 65, 65], l: [1, 1, 65, 65] }).tops, [[1, 1, 1, 3]]);
    assert.equal(build(layer, { s: [1, 21, 65, 65], l: [1, 1, 65, 65] }).dialect, 'deeplab');
  });
  it('refuses a 64x64 label for 65x65 scores', () => {
    assert.throws(() => run('type: "SegAccuracy" bottom: "s" bottom: "l" top: "acc"', { s: [1, 21, 65, 65], l: [1, 1, 64, 64] }), /same height and width, got 65x65 and 64x64/);
  });
});

// SSD300: 38²*4 + 19²*6 + 10²*6 + 5²*6 + 3²*4 + 1²*4 = 5776 + 2166 + 600 + 150 + 36 + 4 = 8732 priors, 21 classes.
const PRIORS = 8732;
describe('MultiBoxLoss', () => {
  const layer = (extra = '') => `type: "MultiBoxLoss" bottom: "loc" bottom: "conf" bottom: "prior" bottom: "gt" top: "loss" multibox_loss_param { num_classes: 21 ${extra} }`;
  const inputs = (conf = PRIORS * 21) => ({ loc: [32, PRIORS * 4], conf: [32, conf], prior: [1, 2, PRIORS * 4], gt: [1, 1, 7, 8] });
  it('SSD300: loc 32x(8732*4 = 34928), conf 32x(8732*21 = 183372), priors 1x2x34928 -> []; read as SSD', () => {
    assert.deepEqual(run(layer(), inputs()).tops, [[]]);
    const { dialect, layer: l } = build(layer(), inputs());
    assert.equal(dialect, 'ssd');
    assert.deepEqual(l.lossWeights, [1]);
  });
  it('refuses 8732*20 confidences for 21 classes', () => {
    assert.throws(() => run(layer(), inputs(PRIORS * 20)), /need 8732 priors .* x multibox_loss_param.num_classes 21 = 183372 values per image, got 174640/);
  });
  it('refuses a missing num_classes and negative mining without share_location', () => {
    assert.throws(() => run(layer().replace('num_classes: 21', ''), inputs()), /num_classes is required/);
    assert.throws(() => run(layer('share_location: false'), inputs()), /mining_type: MAX_NEGATIVE\) only works with share_location: true/);
  });
});

describe('Permute', () => {
  it('SSD conv4_3 loc: 1x16x38x38, order 0 2 3 1 -> 1x38x38x16', () => {
    assert.deepEqual(run('type: "Permute" bottom: "x" top: "y" permute_param { order: 0 order: 2 order: 3 order: 1 }', { x: [1, 16, 38, 38] }).tops, [[1, 38, 38, 16]]);
  });
  it('missing axes follow in order: order 2 on 2x3x4x5 -> axes 2, 0, 1, 3 = 4x2x3x5', () => {
    assert.deepEqual(run('type: "Permute" bottom: "x" top: "y" permute_param { order: 2 }', { x: [2, 3, 4, 5] }).tops, [[4, 2, 3, 5]]);
  });
  it('refuses an axis past the input and a repeated axis', () => {
    assert.throws(() => run('type: "Permute" bottom: "x" top: "y" permute_param { order: 4 }', { x: [2, 3, 4, 5] }), /order 4 is not an axis of the 4-D input/);
    assert.throws(() => run('type: "Permute" bottom: "x" top: "y" permute_param { order: 1 order: 1 }', { x: [2, 3, 4, 5] }), /names axis 1 twice/);
  });
});

describe('PriorBox', () => {
  const pb = (p: string) => `type: "PriorBox" bottom: "f" bottom: "data" top: "prior" prior_box_param { ${p} }`;
  it('SSD conv4_3: ratios {1, 2, 1/2} x 1 min_size + 1 max_size = 4 priors; 38*38*4*4 = 23104', () => {
    const r = run(pb('min_size: 30 max_size: 60 aspect_ratio: 2 flip: true variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2'), { f: [1, 512, 38, 38], data: [1, 3, 300, 300] });
    assert.deepEqual(r.tops, [[1, 2, 23104]]);
  });
  it('SSD fc7: ratios {1, 2, 1/2, 3, 1/3} + 1 max_size = 6 priors; 19*19*6*4 = 8664', () => {
    assert.deepEqual(run(pb('min_size: 60 max_size: 111 aspect_ratio: 2 aspect_ratio: 3 flip: true'), { f: [1, 1024, 19, 19], data: [1, 3, 300, 300] }).tops, [[1, 2, 8664]]);
  });
  it('repeated ratios count once: 2, 0.5 (the flip of 2) and 1 give {1, 2, 1/2} = 3 priors; 10*10*3*4 = 1200', () => {
    assert.deepEqual(run(pb('min_size: 100 aspect_ratio: 2 aspect_ratio: 0.5 aspect_ratio: 1'), { f: [1, 256, 10, 10], data: [1, 3, 300, 300] }).tops, [[1, 2, 1200]]);
  });
  it('two min_size, no flip: {1, 2} x 2 = 4 priors; 5*5*4*4 = 400; img_size makes the image bottom optional', () => {
    assert.deepEqual(run('type: "PriorBox" bottom: "f" top: "prior" prior_box_param { min_size: 30 min_size: 60 aspect_ratio: 2 flip: false img_size: 300 }', { f: [1, 256, 5, 5] }).tops, [[1, 2, 400]]);
  });
  it('refuses a missing min_size, max_size <= min_size, 3 variances, img_size with img_h, and no image bottom', () => {
    const inputs = { f: [1, 256, 5, 5], data: [1, 3, 300, 300] };
    assert.throws(() => run(pb('aspect_ratio: 2'), inputs), /needs at least one min_size/);
    assert.throws(() => run(pb('min_size: 60 max_size: 30'), inputs), /max_size 30 must be greater than its min_size 60/);
    assert.throws(() => run(pb('min_size: 30 variance: 0.1 variance: 0.1 variance: 0.2'), inputs), /one value or exactly 4/);
    assert.throws(() => run(pb('min_size: 30 img_size: 300 img_h: 300 img_w: 300'), inputs), /either img_size or img_h\/img_w, not both/);
    assert.throws(() => run('type: "PriorBox" bottom: "f" top: "prior" prior_box_param { min_size: 30 }', { f: [1, 256, 5, 5] }), /needs the image as its second bottom/);
  });
});

describe('DetectionOutput', () => {
  const layer = (p: string) => `type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "det" detection_output_param { ${p} }`;
  const inputs = { loc: [1, PRIORS * 4], conf: [1, PRIORS * 21], prior: [1, 2, PRIORS * 4] };
  it('the number kept depends on the data: the top [1, 1, kept, 7] is unknown, with the reason', () => {
    const p = 'num_classes: 21 share_location: true background_label_id: 0 nms_param { nms_threshold: 0.45 top_k: 400 } keep_top_k: 200 confidence_threshold: 0.01';
    assert.deepEqual(run(layer(p), inputs).tops, [undefined]);
    assert.match(build(layer(p), inputs).layer.unknown ?? '', /\[1, 1, number kept, 7\]/);
  });
  it('refuses loc for share_location: false (8732*21*4 = 733488 needed), eta 0 and a missing num_classes', () => {
    assert.throws(() => run(layer('num_classes: 21 share_location: false'), inputs), /x 4 = 733488 values per image, got 34928/);
    assert.throws(() => run(layer('num_classes: 21 nms_param { eta: 0 }'), inputs), /eta must be in \(0, 1\], got 0/);
    assert.throws(() => run(layer('share_location: true'), inputs), /num_classes is required/);
  });
});

describe('DetectionEvaluate', () => {
  const layer = (p: string) => `type: "DetectionEvaluate" bottom: "det" bottom: "gt" top: "eval" detection_evaluate_param { ${p} }`;
  it('21 classes, background 0: 20 positive classes + 200 detections = 220 rows of 5', () => {
    assert.deepEqual(run(layer('num_classes: 21 background_label_id: 0'), { det: [1, 1, 200, 7], gt: [1, 1, 15, 8] }).tops, [[1, 1, 220, 5]]);
  });
  it('no background (id 4294967295, read as -1): 21 + 200 = 221 rows', () => {
    assert.deepEqual(run(layer('num_classes: 21 background_label_id: 4294967295'), { det: [1, 1, 200, 7], gt: [1, 1, 15, 8] }).tops, [[1, 1, 221, 5]]);
  });
  it('refuses detections 6 wide and a missing num_classes', () => {
    assert.throws(() => run(layer('num_classes: 21'), { det: [1, 1, 200, 6], gt: [1, 1, 15, 8] }), /detections 'det' must be 1 x 1 x rows x 7, got 1x1x200x6/);
    assert.throws(() => run(layer('overlap_threshold: 0.5'), { det: [1, 1, 200, 7], gt: [1, 1, 15, 8] }), /num_classes is required/);
  });
});
