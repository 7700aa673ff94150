// Whole public nets: output shapes and parameter counts known from their papers and model zoos, or worked
// out by hand (the arithmetic is in the comments).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CaffeToolError } from '../../src/errors.js';
import { loadNet, type LoadOptions } from '../../src/net/load.js';
import { summarize } from '../../src/net/summary.js';
import { fixture } from '../helpers.js';

function shapes(file: string, opts: LoadOptions = {}) {
  const s = summarize(loadNet(fixture('nets', file), opts).net);
  return { blob: (name: string) => s.blobs[name], params: s.totals.params, macs: s.totals.macs, dialect: s.dialect };
}

describe('real nets', () => {
  it('LeNet: 28 -> conv 24 -> pool 12 -> conv 8 -> pool 4; 431,080 parameters', () => {
    const n = shapes('lenet.prototxt');
    assert.deepEqual(n.blob('pool2'), [64, 50, 4, 4]);
    assert.deepEqual(n.blob('prob'), [64, 10]);
    // 20*25+20 + 50*20*25+50 + 500*800+500 + 10*500+10
    assert.equal(n.params, 520 + 25050 + 400500 + 5010);
  });

  it('CaffeNet: 227 -> 55 -> 27 -> 13 -> 6; 60,965,224 parameters', () => {
    const n = shapes('caffenet_deploy_input_shape.prototxt');
    assert.deepEqual(n.blob('pool1'), [10, 96, 27, 27]);
    assert.deepEqual(n.blob('conv2'), [10, 256, 27, 27]);
    assert.deepEqual(n.blob('pool5'), [10, 256, 6, 6]);
    assert.deepEqual(n.blob('prob'), [10, 1000]);
    assert.equal(n.params, 60965224);
  });

  it('CaffeNet train/val needs the data shape its LMDB holds: given with --input, the TRAIN net is complete', () => {
    const unknown = shapes('caffenet_train_val.prototxt', { phase: 'TRAIN' });
    assert.equal(unknown.blob('fc8'), null);
    const n = shapes('caffenet_train_val.prototxt', { phase: 'TRAIN', inputs: { data: [256, 3, 227, 227] } });
    assert.deepEqual(n.blob('fc8'), [256, 1000]);
    assert.deepEqual(n.blob('loss'), []);
  });

  it('GoogLeNet: inception outputs and 6,998,552 parameters (bvlc_googlenet)', () => {
    const n = shapes('googlenet_deploy.prototxt');
    assert.deepEqual(n.blob('inception_3a/output'), [10, 256, 28, 28]);
    assert.deepEqual(n.blob('inception_4e/output'), [10, 832, 14, 14]);
    assert.deepEqual(n.blob('pool5/7x7_s1'), [10, 1024, 1, 1]);
    assert.deepEqual(n.blob('prob'), [10, 1000]);
    assert.equal(n.params, 6998552);
  });

  it('ResNet-50: pool5 1x2048x1x1, fc1000 1x1000; 25,557,032 + BN statistics (2x26,560 + 53) + conv1 bias (64)', () => {
    const n = shapes('resnet50_deploy.prototxt');
    assert.deepEqual(n.blob('res2c'), [1, 256, 56, 56]);
    assert.deepEqual(n.blob('res4f'), [1, 1024, 14, 14]);
    assert.deepEqual(n.blob('res5c'), [1, 2048, 7, 7]);
    assert.deepEqual(n.blob('pool5'), [1, 2048, 1, 1]);
    assert.deepEqual(n.blob('fc1000'), [1, 1000]);
    assert.equal(n.params, 25557032 + 2 * 26560 + 53 + 64);
  });

  it('VGG16 (a V1 file, upgraded in memory): 138,357,544 parameters', () => {
    const n = shapes('vgg16_deploy.prototxt');
    assert.deepEqual(n.blob('pool5'), [1, 512, 7, 7]);
    assert.deepEqual(n.blob('prob'), [1, 1000]);
    assert.equal(n.params, 138357544);
  });

  it('MobileNet: fc7 1x1000x1x1', () => {
    assert.deepEqual(shapes('mobilenet_deploy.prototxt').blob('fc7'), [1, 1000, 1, 1]);
  });

  it('SSD300: 8732 priors (38²·4 + 19²·6 + 10²·6 + 5²·6 + 3²·4 + 1·4), read as the ssd dialect', () => {
    const n = shapes('ssd300_deploy.prototxt');
    assert.equal(n.dialect, 'ssd');
    assert.deepEqual(n.blob('fc7'), [1, 1024, 19, 19]);
    assert.deepEqual(n.blob('conv4_3_norm_mbox_priorbox'), [1, 2, 38 * 38 * 4 * 4]);
    assert.deepEqual(n.blob('mbox_priorbox'), [1, 2, 8732 * 4]);
    assert.deepEqual(n.blob('mbox_conf'), [1, 8732 * 21]);
    assert.equal(n.blob('detection_out'), null);
  });

  it('MobileNet-SSD: 1917 priors', () => {
    const n = shapes('MobileNetSSD_deploy.prototxt');
    assert.deepEqual(n.blob('mbox_priorbox'), [1, 2, 1917 * 4]);
    assert.deepEqual(n.blob('mbox_conf_flatten'), [1, 1917 * 21]);
  });

  it('FCN-8s: pad 100 makes fc7 16x16, upscore2 (16-1)*2+4 = 34, and Crop brings the score back to 500x500', () => {
    const n = shapes('fcn8s_deploy.prototxt');
    assert.deepEqual(n.blob('fc7'), [1, 4096, 16, 16]);
    assert.deepEqual(n.blob('upscore2'), [1, 21, 34, 34]);
    assert.deepEqual(n.blob('score_pool4c'), [1, 21, 34, 34]);
    assert.deepEqual(n.blob('score'), [1, 21, 500, 500]);
  });

  it('SegNet inference (360x480 given with --input): prob 1x11x360x480 through max-unpooling', () => {
    const n = shapes('segnet_inference.prototxt', { inputs: { data: [1, 3, 360, 480] } });
    assert.equal(n.dialect, 'segnet');
    assert.deepEqual(n.blob('prob'), [1, 11, 360, 480]);
  });

  it('ENet: 19 classes at 512x1024', () => {
    // Its Input layer is what tells it from a SegNet net: SegNet's Caffe has no Input layer.
    const n = shapes('enet_deploy.prototxt');
    assert.equal(n.dialect, 'enet');
    assert.deepEqual(n.blob('deconv6_0_0'), [1, 19, 512, 1024]);
  });

  it('PSPNet-50 ADE20K: conv5_4 60x60, Interp back to 473x473 for 150 classes', () => {
    const n = shapes('pspnet50_ade20k_473.prototxt');
    assert.equal(n.dialect, 'pspnet');
    assert.deepEqual(n.blob('conv5_4'), [1, 512, 60, 60]);
    assert.deepEqual(n.blob('conv6_interp'), [1, 150, 473, 473]);
  });

  it('DeepLab v2 (TRAIN): crop 321 gives 41x41 score maps and a label shrunk to match', () => {
    const n = shapes('deeplab_v2_vgg16_train_train_aug.prototxt', { phase: 'TRAIN' });
    assert.equal(n.dialect, 'deeplab');
    assert.deepEqual(n.blob('data'), [10, 3, 321, 321]);
    assert.deepEqual(n.blob('fc8'), [10, 21, 41, 41]);
    assert.deepEqual(n.blob('label_shrink'), [10, 1, 41, 41]);
  });

  it('Faster R-CNN ZF: 224 -> conv1 112 -> pool1 57 -> conv2 29 -> pool2 15; the Python proposal layer ends what can be known', () => {
    const n = shapes('faster_rcnn_zf_end2end_test.prototxt');
    assert.equal(n.dialect, 'fast-rcnn');
    assert.deepEqual(n.blob('conv5'), [1, 256, 15, 15]);
    assert.deepEqual(n.blob('rpn_cls_score'), [1, 18, 15, 15]);
    assert.deepEqual(n.blob('rpn_cls_score_reshape'), [1, 2, 135, 15]);
    assert.equal(n.blob('rois'), null);
  });

  it('SqueezeNet v1.1: 227 -> conv1 113 -> pool1 56 -> pool3 28 -> pool5 ceil(12.5)+1 = 14; 1,235,496 parameters', () => {
    const n = shapes('squeezenet_v1.1_forresti_deploy.prototxt');
    assert.deepEqual(n.blob('fire9/concat'), [1, 512, 14, 14]);
    assert.deepEqual(n.blob('prob'), [1, 1000, 1, 1]);
    assert.equal(n.params, 1235496);
  });

  it('a broken copy of SqueezeNet (conv10 writes conv10-b) fails as Caffe would, with the blobs that exist', () => {
    assert.throws(() => loadNet(fixture('nets', 'squeezenet_v1.1_deploy.prototxt')), (e: CaffeToolError) => {
      assert.match(e.format(), /layer 'relu_conv10': bottom 'conv10' does not exist .*\n {2}hint: blobs available here: .*conv10-b/);
      return true;
    });
  });
});
