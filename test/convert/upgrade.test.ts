// The upgrade steps, one by one, against Caffe's rules (src/caffe/util/upgrade_proto.cpp, BVLC master) worked
// through by hand: every expected net below and in fixtures/upgrade/ was written from those rules, not printed
// by this code. Messages are compared by their canonical printing (the printer matches protoc's).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { upgradeNetBatchNorm } from '../../src/convert/upgrade/batch-norm.js';
import { netNeedsDataUpgrade, upgradeNetDataTransformation } from '../../src/convert/upgrade/data-transform.js';
import {
  BOTH_SOLVER_TYPES_REASON, MIXED_LAYERS_REASON, netNeedsUpgrade, netVersion, upgradeNet, upgradeNotice, upgradeSolver,
  upgradeSolverNets,
} from '../../src/convert/upgrade/index.js';
import { upgradeNetInput } from '../../src/convert/upgrade/input.js';
import { upgradeSolverType } from '../../src/convert/upgrade/solver-type.js';
import { upgradeV0PaddingLayers } from '../../src/convert/upgrade/v0-padding.js';
import { upgradeV0ToV1 } from '../../src/convert/upgrade/v0-to-v1.js';
import { upgradeV1ToV2, V1_LAYER_TYPES } from '../../src/convert/upgrade/v1-to-v2.js';
import { CaffeToolError } from '../../src/errors.js';
import { parseCaffeText, readCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { dialectSchema, messageInfo } from '../../src/io/schema.js';
import { printText } from '../../src/io/text/print.js';
import { readSolverFile } from '../../src/train/solver-file.js';
import { fixture, tempDir } from '../helpers.js';

const bvlc = dialectSchema('bvlc');
const net = (text: string) => parseCaffeText(text, { kinds: ['net'] }).message;
const solver = (text: string) => parseCaffeText(text, { kinds: ['solver'] }).message;
const printNet = (m: Message) => printText(m, messageInfo(bvlc, 'NetParameter'));
const printSolver = (m: Message) => printText(m, messageInfo(bvlc, 'SolverParameter'));
/** Both nets printed canonically must be the same text. */
const sameNet = (actual: Message, expectedText: string) => assert.equal(printNet(actual), printNet(net(expectedText)));

/** Run `f` and check it throws a CaffeToolError whose formatted text matches every pattern. */
function throwsWith(f: () => unknown, ...patterns: RegExp[]): CaffeToolError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CaffeToolError, `expected a CaffeToolError, got ${String(caught)}`);
  for (const p of patterns) assert.match(caught.format(), p);
  return caught;
}

/** Upgrade and check the input was left exactly as it was. */
function pure<T>(input: Message, f: (m: Message) => T, print = printNet): T {
  const before = print(input);
  const r = f(input);
  assert.equal(print(input), before, 'the upgrade changed its input');
  return r;
}

describe('V0 padding layers (UpgradeV0PaddingLayers)', () => {
  const TWO_CONSUMERS = `
    input: "data"
    layers { layer { name: "pad1" type: "padding" pad: 2 } bottom: "data" top: "pad1" }
    layers { layer { name: "conv1" type: "conv" num_output: 8 kernelsize: 3 } bottom: "pad1" top: "conv1" }
    layers { layer { name: "pool1" type: "pool" pool: MAX kernelsize: 2 pad: 7 } bottom: "pad1" top: "pool1" }
    layers { layer { name: "relu1" type: "relu" } bottom: "conv1" top: "conv1" }`;

  it('removes the padding layer and gives its pad to every conv/pool layer reading it, which then read its input', () => {
    const r = pure(net(TWO_CONSUMERS), upgradeV0PaddingLayers);
    // By hand: pad1 goes; conv1 and pool1 get pad 2 (pool1's own pad 7 is overwritten: set_pad) and read "data".
    sameNet(r.net, `
      input: "data"
      layers { layer { name: "conv1" type: "conv" num_output: 8 kernelsize: 3 pad: 2 } bottom: "data" top: "conv1" }
      layers { layer { name: "pool1" type: "pool" pool: MAX kernelsize: 2 pad: 2 } bottom: "data" top: "pool1" }
      layers { layer { name: "relu1" type: "relu" } bottom: "conv1" top: "conv1" }`);
    assert.deepEqual(r.changes, ['layer pad1: padding layer removed, folded into conv1 (pad 2, now reads "data"), pool1 (pad 2, now reads "data")']);
  });

  it('a padding layer without pad gives pad 0 (Caffe sets the field from its default)', () => {
    const r = upgradeV0PaddingLayers(net(`
      layers { layer { name: "d" type: "data" } top: "x" }
      layers { layer { name: "p" type: "padding" } bottom: "x" top: "px" }
      layers { layer { name: "c" type: "conv" } bottom: "px" top: "c" }`));
    sameNet(r.net, `
      layers { layer { name: "d" type: "data" } top: "x" }
      layers { layer { name: "c" type: "conv" pad: 0 } bottom: "x" top: "c" }`);
  });

  it('a padding layer feeding anything but conv or pool is refused with Caffe\'s reason, naming both layers', () => {
    throwsWith(
      () => upgradeV0PaddingLayers(net(`
        input: "data"
        layers { layer { name: "pad1" type: "padding" pad: 1 } bottom: "data" top: "pad1" }
        layers { layer { name: "relu1" type: "relu" } bottom: "pad1" top: "r" }`)),
      /^layer 'relu1': Padding layer input to non-convolutional \/ non-pooling layer type relu: padding layer 'pad1' feeds it/,
      /hint: a V0 padding layer can only be folded/,
    );
  });

  it('refuses what Caffe CHECKs: several inputs, a padding layer with two bottoms or tops, an unknown blob', () => {
    throwsWith(() => upgradeV0PaddingLayers(net(`
      input: "a" input: "b"
      layers { layer { name: "p" type: "padding" } bottom: "a" top: "pa" }
      layers { layer { name: "c" type: "conv" } bottom: "pa" bottom: "b" top: "c" }`)), /layer 'c': Conv Layer takes a single blob as input/);
    throwsWith(() => upgradeV0PaddingLayers(net(`
      input: "a" input: "b"
      layers { layer { name: "p" type: "padding" } bottom: "a" bottom: "b" top: "pa" }
      layers { layer { name: "c" type: "conv" } bottom: "pa" top: "c" }`)), /layer 'p': Padding Layer takes a single blob as input/);
    throwsWith(() => upgradeV0PaddingLayers(net(`
      input: "a"
      layers { layer { name: "p" type: "padding" } bottom: "a" top: "pa" top: "pb" }
      layers { layer { name: "c" type: "conv" } bottom: "pa" top: "c" }`)), /layer 'p': Padding Layer produces a single blob as output/);
    throwsWith(() => upgradeV0PaddingLayers(net(`
      layers { layer { name: "c" type: "conv" } bottom: "nowhere" top: "c" }`)), /layer 'c': unknown blob input "nowhere"/);
  });
});

describe('V0 -> V1 (UpgradeV0Net, UpgradeV0LayerParameter, UpgradeV0LayerType)', () => {
  it('puts every V0 field where Caffe puts it, by layer type', () => {
    const v0 = net(`
      name: "all" force_backward: true input: "in" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 4
      layers { layer { name: "d" type: "data" source: "db" batchsize: 8 rand_skip: 3 scale: 0.5 meanfile: "m" cropsize: 9 mirror: true } top: "x" top: "y" }
      layers { layer { name: "i" type: "images" source: "list" batchsize: 2 rand_skip: 1 shuffle_images: true new_height: 5 new_width: 6 } top: "ix" }
      layers { layer { name: "w" type: "window_data" source: "win" batchsize: 4 det_fg_threshold: 0.25 det_bg_threshold: 0.75 det_fg_fraction: 0.5 det_context_pad: 16 det_crop_mode: "square" } top: "wx" }
      layers { layer { name: "h" type: "hdf5_data" source: "h5" batchsize: 7 } top: "hx" }
      layers { layer { name: "c" type: "conv" num_output: 16 biasterm: false pad: 1 kernelsize: 3 group: 2 stride: 2
                       weight_filler { type: "gaussian" std: 0.01 } bias_filler { type: "constant" value: 3 }
                       blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0 } bottom: "x" top: "c" }
      layers { layer { name: "p" type: "pool" pool: AVE pad: 1 kernelsize: 3 stride: 2 } bottom: "c" top: "p" }
      layers { layer { name: "n" type: "lrn" local_size: 3 alpha: 0.5 beta: 0.25 k: 2 } bottom: "p" top: "n" }
      layers { layer { name: "f" type: "innerproduct" num_output: 10 biasterm: false weight_filler { type: "xavier" } bias_filler { type: "constant" } } bottom: "n" top: "f" }
      layers { layer { name: "o" type: "dropout" dropout_ratio: 0.25 } bottom: "f" top: "f" }
      layers { layer { name: "cat" type: "concat" concat_dim: 2 } bottom: "f" bottom: "f" top: "cat" }
      layers { layer { name: "ig" type: "infogain_loss" source: "H" } bottom: "cat" bottom: "y" }
      layers { layer { name: "out" type: "hdf5_output" hdf5_output_param { file_name: "o.h5" } } bottom: "cat" }`);
    const r = pure(v0, upgradeV0ToV1);
    sameNet(r.net, `
      name: "all" force_backward: true input: "in" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 4
      layers { name: "d" type: DATA top: "x" top: "y" data_param { source: "db" batch_size: 8 rand_skip: 3 }
               transform_param { scale: 0.5 mean_file: "m" crop_size: 9 mirror: true } }
      layers { name: "i" type: IMAGE_DATA top: "ix"
               image_data_param { source: "list" batch_size: 2 rand_skip: 1 shuffle: true new_height: 5 new_width: 6 } }
      layers { name: "w" type: WINDOW_DATA top: "wx" window_data_param { source: "win" batch_size: 4 fg_threshold: 0.25
               bg_threshold: 0.75 fg_fraction: 0.5 context_pad: 16 crop_mode: "square" } }
      layers { name: "h" type: HDF5_DATA top: "hx" hdf5_data_param { source: "h5" batch_size: 7 } }
      layers { name: "c" type: CONVOLUTION bottom: "x" top: "c" blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0
               convolution_param { num_output: 16 bias_term: false pad: 1 kernel_size: 3 group: 2 stride: 2
                                   weight_filler { type: "gaussian" std: 0.01 } bias_filler { type: "constant" value: 3 } } }
      layers { name: "p" type: POOLING bottom: "c" top: "p" pooling_param { pool: AVE pad: 1 kernel_size: 3 stride: 2 } }
      layers { name: "n" type: LRN bottom: "p" top: "n" lrn_param { local_size: 3 alpha: 0.5 beta: 0.25 k: 2 } }
      layers { name: "f" type: INNER_PRODUCT bottom: "n" top: "f"
               inner_product_param { num_output: 10 bias_term: false weight_filler { type: "xavier" } bias_filler { type: "constant" } } }
      layers { name: "o" type: DROPOUT bottom: "f" top: "f" dropout_param { dropout_ratio: 0.25 } }
      layers { name: "cat" type: CONCAT bottom: "f" bottom: "f" top: "cat" concat_param { concat_dim: 2 } }
      layers { name: "ig" type: INFOGAIN_LOSS bottom: "cat" bottom: "y" infogain_loss_param { source: "H" } }
      layers { name: "out" type: HDF5_OUTPUT bottom: "cat" hdf5_output_param { file_name: "o.h5" } }`);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.changes[4], 'layer c: V0 "conv" -> CONVOLUTION; convolution_param: num_output, bias_term (biasterm), weight_filler, bias_filler, pad, kernel_size (kernelsize), group, stride');
  });

  it('a field the type has no place for is dropped with Caffe\'s "Unknown parameter" warning (not fully compatible)', () => {
    const r = upgradeV0ToV1(net(`
      input: "x"
      layers { layer { name: "r" type: "relu" num_output: 3 kernelsize: 2 scale: 2 } bottom: "x" top: "x" }
      layers { layer { name: "im" type: "images" shuffle_images: true new_num: 4 } top: "y" }`));
    // scale goes to transform_param whatever the type; new_num has no rule at all.
    sameNet(r.net, `input: "x"
      layers { name: "r" type: RELU bottom: "x" top: "x" transform_param { scale: 2 } }
      layers { name: "im" type: IMAGE_DATA top: "y" image_data_param { shuffle: true } }`);
    assert.deepEqual(r.warnings, [
      'layer r: Unknown parameter num_output for layer type relu (dropped)',
      'layer r: Unknown parameter kernelsize for layer type relu (dropped)',
      'layer im: new_num dropped: Caffe\'s V0 upgrade has no place for them',
    ]);
  });

  it('an unknown V0 type is fatal, as in Caffe ("Unknown layer name")', () => {
    throwsWith(() => upgradeV0ToV1(net('layers { layer { name: "x" type: "convolution" } top: "x" }')),
      /layer 'x': Unknown layer name: convolution/, /hint: the V0 types are accuracy, bnll/);
  });

  it('keeps only the net fields Caffe\'s V0 upgrade copies back, and says what it dropped', () => {
    const r = upgradeV0ToV1(net(`name: "n" state { phase: TRAIN } debug_info: true
      layers { layer { name: "d" type: "data" } top: "x" }`));
    sameNet(r.net, 'name: "n" layers { name: "d" type: DATA top: "x" }');
    assert.deepEqual(r.warnings, [
      'net: state dropped: Caffe\'s V0 upgrade keeps only name, input, input_dim and force_backward',
      'net: debug_info dropped: Caffe\'s V0 upgrade keeps only name, input, input_dim and force_backward',
    ]);
  });
});

describe('data transformation fields (UpgradeNetDataTransformation)', () => {
  it('moves scale/mean_file/crop_size/mirror out of DATA, IMAGE_DATA and WINDOW_DATA params into transform_param', () => {
    const v1 = net(`
      layers { name: "d" type: DATA data_param { source: "db" scale: 0.5 mean_file: "m" crop_size: 9 mirror: true batch_size: 2 } top: "x" }
      layers { name: "i" type: IMAGE_DATA image_data_param { source: "l" mirror: false } transform_param { mean_value: 104 } top: "y" }
      layers { name: "w" type: WINDOW_DATA window_data_param { crop_size: 227 } top: "z" }
      layers { name: "t" type: DATA top: "t" }
      layers { name: "c" type: CONVOLUTION bottom: "x" top: "c" }`);
    assert.ok(netNeedsDataUpgrade(v1));
    const r = pure(v1, upgradeNetDataTransformation);
    // By hand. Caffe reaches each data layer's param and transform_param through mutable_ accessors, so layer t
    // (which had neither) ends up with an empty data_param and an empty transform_param.
    sameNet(r.net, `
      layers { name: "d" type: DATA data_param { source: "db" batch_size: 2 } transform_param { scale: 0.5 mean_file: "m" crop_size: 9 mirror: true } top: "x" }
      layers { name: "i" type: IMAGE_DATA image_data_param { source: "l" } transform_param { mirror: false mean_value: 104 } top: "y" }
      layers { name: "w" type: WINDOW_DATA window_data_param { } transform_param { crop_size: 227 } top: "z" }
      layers { name: "t" type: DATA top: "t" data_param { } transform_param { } }
      layers { name: "c" type: CONVOLUTION bottom: "x" top: "c" }`);
    assert.match(printNet(r.net), /\n {2}top: "t"\n {2}name: "t"\n {2}type: DATA\n {2}data_param {\n {2}}\n {2}transform_param {\n {2}}\n}\n/);
    assert.equal(r.changes[0], 'layer d: data_param.scale -> transform_param.scale (0.5); data_param.mean_file -> transform_param.mean_file ("m"); data_param.crop_size -> transform_param.crop_size (9); data_param.mirror -> transform_param.mirror (true)');
    assert.equal(r.changes.length, 3);
  });

  it('is not needed when the fields are already in transform_param', () => {
    assert.equal(netNeedsDataUpgrade(net('layers { name: "d" type: DATA transform_param { scale: 2 } data_param { source: "s" } }')), false);
  });
});

describe('V1 -> V2 (UpgradeV1Net, UpgradeV1LayerParameter, UpgradeV1LayerType)', () => {
  it('has a V2 type string for every V1 enum value of the BVLC schema, as Caffe\'s table', () => {
    const values = [...bvlc.enums.get('V1LayerParameter.LayerType')!.byName.keys()].sort();
    assert.deepEqual(Object.keys(V1_LAYER_TYPES).sort(), values);
    // Spot checks against upgrade_proto.cpp's switch, where the name is not a plain CamelCase of the enum.
    const expect: Record<string, string> = {
      NONE: '', SOFTMAX_LOSS: 'SoftmaxWithLoss', TANH: 'TanH', ABSVAL: 'AbsVal', IM2COL: 'Im2col', HDF5_DATA: 'HDF5Data',
      HDF5_OUTPUT: 'HDF5Output', BNLL: 'BNLL', LRN: 'LRN', MVN: 'MVN', RELU: 'ReLU', DECONVOLUTION: 'Deconvolution',
      SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss', MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss',
      ARGMAX: 'ArgMax', DUMMY_DATA: 'DummyData', MEMORY_DATA: 'MemoryData', INNER_PRODUCT: 'InnerProduct',
    };
    for (const [v1, v2] of Object.entries(expect)) assert.equal(V1_LAYER_TYPES[v1], v2, v1);
  });

  it('copies each layer field by field; blobs_lr, weight_decay, param names and share modes become param specs', () => {
    const v1 = net(`
      name: "n" input: "x" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2 force_backward: true state { phase: TRAIN }
      layers { name: "c" type: CONVOLUTION bottom: "x" top: "c" param: "w" param: "b" blob_share_mode: PERMISSIVE
               blobs_lr: 1 blobs_lr: 2 weight_decay: 1 loss_weight: 0.5
               include { phase: TRAIN } exclude { stage: "deploy" } convolution_param { num_output: 2 kernel_size: 1 } }
      layers { name: "s" type: SOFTMAX_LOSS bottom: "c" bottom: "x" top: "l" loss_param { ignore_label: 255 } }
      layers { name: "none" type: NONE }
      layers { name: "untyped" }`);
    const r = pure(v1, upgradeV1ToV2);
    sameNet(r.net, `
      name: "n" input: "x" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2 force_backward: true state { phase: TRAIN }
      layer { name: "c" type: "Convolution" bottom: "x" top: "c" loss_weight: 0.5
              param { name: "w" share_mode: PERMISSIVE lr_mult: 1 decay_mult: 1 } param { name: "b" lr_mult: 2 }
              include { phase: TRAIN } exclude { stage: "deploy" } convolution_param { num_output: 2 kernel_size: 1 } }
      layer { name: "s" type: "SoftmaxWithLoss" bottom: "c" bottom: "x" top: "l" loss_param { ignore_label: 255 } }
      layer { name: "none" type: "" }
      layer { name: "untyped" }`);
    assert.deepEqual(r.changes, [
      'layer c: CONVOLUTION -> Convolution; param -> param.name; blob_share_mode -> param.share_mode; blobs_lr -> param.lr_mult; weight_decay -> param.decay_mult',
      'layer s: SOFTMAX_LOSS -> SoftmaxWithLoss',
      'layer none: NONE -> "" (no type)',
      'layer untyped: layers { } -> layer { }',
    ]);
  });

  it('refuses a net with both layer and layers, with Caffe\'s reason', () => {
    const mixed = net('layers { name: "a" type: RELU } layer { name: "b" type: "ReLU" }');
    throwsWith(() => upgradeV1ToV2(mixed), /^Refusing to upgrade inconsistent NetParameter input; the definition includes both 'layer' and 'layers' fields\./);
    throwsWith(() => upgradeNet(mixed), /Manually switch the definition to 'layer' format to continue\./, /hint: this net has 1 'layers' entries/);
    // Caffe's V0 step would drop the `layer` entries of a V0 net without a word: refused as well.
    throwsWith(() => upgradeNet(net('layers { layer { name: "a" type: "relu" } } layer { name: "b" type: "ReLU" }')), /Refusing to upgrade inconsistent/);
    assert.ok(MIXED_LAYERS_REASON.startsWith('Refusing to upgrade inconsistent NetParameter input'));
  });

  it('an enum value outside Caffe\'s table (a fork\'s V1 type, read from a binary) is fatal, as in Caffe', () => {
    throwsWith(() => upgradeV1ToV2({ layers: [{ name: 'bn1', type: 43 }] }), /layer 'bn1': Unknown V1LayerParameter layer type: 43/, /hint: a fork's V1 layer type/);
  });
});

describe('input fields -> Input layer (UpgradeNetInput)', () => {
  it('input_dim in groups of four, one shape per input; the layer goes first', () => {
    const r = pure(net(`input: "a" input: "b" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8 input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2
      layer { name: "r" type: "ReLU" bottom: "a" top: "r" }`), upgradeNetInput);
    sameNet(r.net, `
      layer { name: "input" type: "Input" top: "a" top: "b" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } shape { dim: 1 dim: 1 dim: 2 dim: 2 } } }
      layer { name: "r" type: "ReLU" bottom: "a" top: "r" }`);
    assert.deepEqual(r.changes, ['net: input + input_dim -> layer input (Input, first): "a" [1, 3, 8, 8], "b" [1, 1, 2, 2]']);
  });

  it('input_shape wins over input_dim; shapes of any rank', () => {
    // The Faster R-CNN test net style: an image and a 2-D im_info.
    const r = upgradeNetInput(net(`input: "data" input_shape { dim: 1 dim: 3 dim: 224 dim: 224 } input: "im_info" input_shape { dim: 1 dim: 3 }
      input_dim: 9 input_dim: 9 input_dim: 9 input_dim: 9`));
    sameNet(r.net, 'layer { name: "input" type: "Input" top: "data" top: "im_info" input_param { shape { dim: 1 dim: 3 dim: 224 dim: 224 } shape { dim: 1 dim: 3 } } }');
    assert.deepEqual(r.warnings, ['net: input_dim ignored: input_shape is given too, and Caffe uses input_shape']);
  });

  it('input names without shapes (a legacy caffemodel) are just stripped', () => {
    const r = upgradeNetInput(net('input: "data" layer { name: "r" type: "ReLU" }'));
    sameNet(r.net, 'layer { name: "r" type: "ReLU" }');
    assert.match(r.changes[0], /input "data" removed: no shape given/);
  });

  it('forks without an Input layer (DeepLab v2, PSPNet: their field 143 is interp_param) keep their input fields', () => {
    const file = readCaffeFile(fixture('dialects', 'pspnet.prototxt'));
    assert.equal(file.dialect, 'pspnet');
    const r = upgradeNet(file.message, { dialect: file.dialect });
    assert.deepEqual(r.changes, []);
    assert.equal(r.net, file.message);
    assert.deepEqual(r.notes, ['net: input fields kept: the pspnet fork has no Input layer, and its Caffe reads them as they are']);
    assert.equal(netNeedsUpgrade(file.message, { dialect: 'pspnet' }), false);
    // Read as BVLC, the same fields do become an Input layer.
    assert.equal(netNeedsUpgrade(file.message), true);
    assert.equal(upgradeNet(file.message).changes.length, 1);
  });

  it('SegNet keeps its input fields (its LayerParameter stops at 138, before input_param 143); ENet gets the Input layer', () => {
    const text = `input: "data" input_dim: 1 input_dim: 3 input_dim: 360 input_dim: 480
      layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }
      layer { name: "bn1" type: "BN" bottom: "conv1" top: "conv1" bn_param { bn_mode: INFERENCE } }
      layer { name: "up" type: "Upsample" bottom: "conv1" top: "up" upsample_param { scale: 2 } }`;
    const file = parseCaffeText(text, { kinds: ['net'] });
    assert.equal(file.dialect, 'segnet');
    const r = upgradeNet(file.message, { dialect: 'segnet' });
    assert.deepEqual(r.changes, []);
    assert.equal(r.net, file.message);
    assert.deepEqual(r.notes, ['net: input fields kept: the segnet fork has no Input layer, and its Caffe reads them as they are']);
    assert.equal(netNeedsUpgrade(file.message, { dialect: 'segnet' }), false);
    const enet = upgradeNet(file.message, { dialect: 'enet' });
    assert.deepEqual(enet.changes, ['net: input + input_dim -> layer input (Input, first): "data" [1, 3, 360, 480]']);
    assert.equal((enet.net.layer as Message[])[0].type, 'Input');
  });

  it('too few shapes for the inputs is refused (Caffe would read past the end)', () => {
    throwsWith(() => upgradeNetInput(net('input: "a" input: "b" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 4')), /2 inputs but 4 input_dim values/);
    throwsWith(() => upgradeNetInput(net('input: "a" input: "b" input_shape { dim: 1 }')), /2 inputs but 1 input_shape entries/);
  });
});

describe('old BatchNorm param specs (UpgradeNetBatchNorm)', () => {
  it('exactly three specs: lr_mult and decay_mult forced to 0, names kept; other layers untouched', () => {
    const r = pure(net(`
      layer { name: "bn" type: "BatchNorm" param { name: "m" lr_mult: 0 } param { lr_mult: 0 } param { lr_mult: 0 decay_mult: 0 } }
      layer { name: "bn2" type: "BatchNorm" param { lr_mult: 1 } param { lr_mult: 1 } }
      layer { name: "sc" type: "Scale" param { lr_mult: 1 } param { lr_mult: 1 } param { lr_mult: 1 } }`), upgradeNetBatchNorm);
    sameNet(r.net, `
      layer { name: "bn" type: "BatchNorm" param { name: "m" lr_mult: 0 decay_mult: 0 } param { lr_mult: 0 decay_mult: 0 } param { lr_mult: 0 decay_mult: 0 } }
      layer { name: "bn2" type: "BatchNorm" param { lr_mult: 1 } param { lr_mult: 1 } }
      layer { name: "sc" type: "Scale" param { lr_mult: 1 } param { lr_mult: 1 } param { lr_mult: 1 } }`);
    assert.equal(r.changes.length, 1);
    assert.match(r.changes[0], /^layer bn: BatchNorm param \{lr_mult: 0\} \{lr_mult: 0\} \{lr_mult: 0 decay_mult: 0\} -> lr_mult 0, decay_mult 0/);
    assert.deepEqual(upgradeNetBatchNorm(r.net).changes, []);
  });

  it('the real MobileNet deploy net: its BatchNorm specs are already zero, so Caffe\'s BatchNorm step changes nothing', () => {
    const file = readCaffeFile(fixture('nets', 'mobilenet_deploy.prototxt'));
    const r = upgradeNet(file.message);
    const bns = (r.net.layer as Message[]).filter((l) => l.type === 'BatchNorm');
    assert.ok(bns.length > 0);
    for (const bn of bns) assert.deepEqual((bn.param as Message[]).map((p) => [p.lr_mult, p.decay_mult]), [[0, 0], [0, 0], [0, 0]]);
    // Only its input fields change (into an Input layer).
    assert.deepEqual(r.changes, ['net: input + input_dim -> layer input (Input, first): "data" [1, 3, 224, 224]']);
  });
});

describe('solver_type -> type (UpgradeSolverType)', () => {
  const table: [string, string][] = [['SGD', 'SGD'], ['NESTEROV', 'Nesterov'], ['ADAGRAD', 'AdaGrad'], ['RMSPROP', 'RMSProp'], ['ADADELTA', 'AdaDelta'], ['ADAM', 'Adam']];
  for (const [old, type] of table) {
    it(`${old} -> "${type}"`, () => {
      const r = pure(solver(`base_lr: 0.01 solver_type: ${old}`), upgradeSolverType, printSolver);
      assert.equal(printSolver(r.solver), printSolver(solver(`base_lr: 0.01 type: "${type}"`)));
      assert.deepEqual(r.changes, [`solver_type: ${old} -> type: "${type}"`]);
    });
  }

  it('both solver_type and type are refused with Caffe\'s reason', () => {
    throwsWith(() => upgradeSolver(solver('solver_type: ADAM type: "Adam"')),
      /solver_type: Failed to upgrade solver: old solver_type field \(enum\) and new type field \(string\) cannot be both specified in solver proto text\./);
    assert.match(BOTH_SOLVER_TYPES_REASON, /cannot be both specified/);
  });

  it('a net written inside the solver is left as it is, as upgrade_solver_proto_text leaves it (UpgradeSolverAsNeeded)', () => {
    const text = 'solver_type: NESTEROV net_param { layers { name: "r" type: RELU } } test_net_param { input: "x" }';
    const r = pure(solver(text), upgradeSolver, printSolver);
    assert.equal(printSolver(r.solver), printSolver(solver('type: "Nesterov" net_param { layers { name: "r" type: RELU } } test_net_param { input: "x" }')));
    assert.deepEqual(r.changes, ['solver_type: NESTEROV -> type: "Nesterov"']);
  });

  it('the trainer upgrades the nets inside a solver (upgradeSolverNets), and says so once', () => {
    const r = pure(solver('type: "Nesterov" net_param { layers { name: "r" type: RELU } } test_net_param { input: "x" }'), upgradeSolverNets, printSolver);
    assert.equal(printSolver(r.solver), printSolver(solver('type: "Nesterov" net_param { layer { name: "r" type: "ReLU" } } test_net_param { }')));
    assert.deepEqual(r.changes, [
      'net_param: layer r: RELU -> ReLU',
      'test_net_param[0]: net: input "x" removed: no shape given (a legacy caffemodel field), as Caffe strips it',
    ]);
    const dir = tempDir();
    const path = join(dir, 'solver.prototxt');
    writeFileSync(path, 'base_lr: 0.1\nsolver_type: SGD\nnet_param {\n  layers { name: "d" type: DUMMY_DATA top: "x" dummy_data_param { shape { dim: 1 dim: 2 } } }\n  layers { name: "r" type: RELU bottom: "x" top: "y" }\n}\n');
    const notices: string[] = [];
    const f = readSolverFile(path, (m) => notices.push(m));
    assert.deepEqual((f.train.param.layer as Message[]).map((l) => l.type), ['DummyData', 'ReLU']);
    assert.equal(f.message.type, 'SGD');
    assert.equal(notices.length, 2);
    assert.match(notices[0], /solver\.prototxt: solver upgraded in memory .*solver_type: SGD -> type: "SGD".*`caffe-tool upgrade .* OUT` writes it$/);
    assert.match(notices[1], /solver\.prototxt: a net inside the solver upgraded in memory to the current format \(2 changes, such as net_param: layer d: DUMMY_DATA -> DummyData\); .*`caffe-tool upgrade` leaves it so/);
  });
});

describe('upgradeNet: every step in Caffe\'s order, on real old files', () => {
  const cases: [string, string, 'V0' | 'V1' | 'V2'][] = [
    ['lenet_train_test_v1', 'V1 with transform_param and include', 'V1'],
    ['lenet_v1_input_dim', 'V1 deploy with input_dim', 'V1'],
    ['lenet_train_v1_data_param_scale', 'V1 with scale inside data_param', 'V1'],
    ['imagenet_val_v0', 'V0 with data layer fields', 'V0'],
    ['imagenet_deploy_v0_padding', 'V0 with padding layers and input_dim', 'V0'],
  ];
  for (const [name, what, version] of cases) {
    it(`${name} (${what}) gives the hand-written fixtures/upgrade/${name}.expected.prototxt`, () => {
      const file = readCaffeFile(fixture('nets', 'old', `${name}.prototxt`));
      const r = pure(file.message, upgradeNet);
      assert.equal(r.from, version);
      assert.equal(printNet(r.net), readFileSync(fixture('upgrade', `${name}.expected.prototxt`), 'utf8'));
      assert.deepEqual(r.warnings, []);
      // Upgrading the result changes nothing, and hands back the very same message.
      const again = upgradeNet(r.net);
      assert.deepEqual(again.changes, []);
      assert.equal(again.net, r.net);
      assert.equal(again.from, 'V2');
      assert.equal(netNeedsUpgrade(r.net), false);
    });
  }

  it('reports in Caffe\'s order: padding, V0 -> V1, V1 -> V2, then input', () => {
    const r = upgradeNet(readCaffeFile(fixture('nets', 'old', 'imagenet_deploy_v0_padding.prototxt')).message);
    const firstOf = (re: RegExp) => r.changes.findIndex((c) => re.test(c));
    assert.equal(firstOf(/padding layer removed/), 0);
    assert.ok(firstOf(/V0 "conv" -> CONVOLUTION/) < firstOf(/CONVOLUTION -> Convolution/));
    assert.equal(firstOf(/^net: input \+ input_dim/), r.changes.length - 1);
    assert.ok(r.changes.includes('layer pad2: padding layer removed, folded into conv2 (pad 2, now reads "norm1")'));
    assert.ok(r.changes.includes('layer conv1: CONVOLUTION -> Convolution; blobs_lr -> param.lr_mult; weight_decay -> param.decay_mult'));
  });

  it('shares the weights: the upgraded blobs hold the very Float32Arrays that were read', () => {
    for (const name of ['v1_weights.caffemodel', 'v0_weights.caffemodel']) {
      const file = readCaffeFile(fixture('binary', name));
      const r = pure(file.message, upgradeNet);
      const conv = (r.net.layer as Message[]).find((l) => l.name === 'conv1')!;
      const old = name.startsWith('v1')
        ? ((file.message.layers as Message[])[0].blobs as Message[])
        : (((file.message.layers as Message[])[0].layer as Message).blobs as Message[]);
      const blobs = conv.blobs as Message[];
      assert.equal(blobs.length, 2);
      for (let i = 0; i < 2; i++) assert.equal(blobs[i].data, old[i].data, `${name} blob ${i} was copied`);
    }
  });

  it('gives loaders one line to print, only when something was upgraded', () => {
    const r = upgradeNet(readCaffeFile(fixture('nets', 'old', 'lenet_v1_input_dim.prototxt')).message);
    assert.equal(upgradeNotice('lenet.prototxt', r),
      'lenet.prototxt: net upgraded in memory to the current format (9 changes, such as layer conv1: CONVOLUTION -> Convolution; blobs_lr -> param.lr_mult); `caffe-tool upgrade lenet.prototxt OUT` writes it');
    assert.equal(upgradeNotice('x', upgradeNet(r.net)), undefined);
  });

  it('a current net is left alone: no changes, the same object', () => {
    const file = readCaffeFile(fixture('nets', 'lenet_train_test.prototxt'));
    const r = upgradeNet(file.message);
    assert.deepEqual(r.changes, []);
    assert.equal(r.net, file.message);
    assert.equal(netVersion(file.message), 'V2');
  });
});

describe('upgradeSolver on real old solvers', () => {
  for (const name of ['mnist_autoencoder_solver_nesterov', 'enet_solver_encoder_decoder', 'lenet_solver_rmsprop_nospace']) {
    it(`${name} gives the hand-written fixtures/upgrade/${name}.expected.prototxt`, () => {
      const file = readCaffeFile(fixture('solvers', 'old', `${name}.prototxt`));
      const r = pure(file.message, upgradeSolver, printSolver);
      assert.equal(printSolver(r.solver), readFileSync(fixture('upgrade', `${name}.expected.prototxt`), 'utf8'));
      assert.deepEqual(upgradeSolver(r.solver).changes, []);
    });
  }

  it('a 2014 solver without solver_type needs nothing', () => {
    const file = readCaffeFile(fixture('solvers', 'old', 'lenet_solver_2014_train_net_test_net.prototxt'));
    assert.deepEqual(upgradeSolver(file.message).changes, []);
  });
});
