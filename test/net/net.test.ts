import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CaffeToolError } from '../../src/errors.js';
import { parseCaffeText, readCaffeFile } from '../../src/io/files.js';
import { buildNet, type NetOptions } from '../../src/net/net.js';
import { lintNet } from '../../src/net/lint.js';
import { loadNet, loadWeights } from '../../src/net/load.js';
import { attachWeights, lintWeights, shapeMatches } from '../../src/net/weights.js';
import { fixture } from '../helpers.js';

const net = (text: string, opts: NetOptions = {}) => {
  const file = parseCaffeText(text, { kinds: ['net'] });
  return buildNet(file.message, { dialect: file.dialect, ...opts });
};
const formatted = (re: RegExp) => (e: CaffeToolError) => {
  assert.match(e.format(), re);
  return true;
};

const TRAIN_TEST = `
layer { name: "train_data" type: "Input" top: "data" include { phase: TRAIN } input_param { shape { dim: 64 dim: 3 } } }
layer { name: "test_data" type: "Input" top: "data" include { phase: TEST } input_param { shape { dim: 100 dim: 3 } } }
layer { name: "staged" type: "ReLU" bottom: "data" top: "a" include { stage: "deploy" } }
layer { name: "not_staged" type: "ReLU" bottom: "data" top: "b" include { not_stage: "deploy" } }
layer { name: "leveled" type: "ReLU" bottom: "data" top: "c" include { min_level: 1 } }
layer { name: "excluded" type: "ReLU" bottom: "data" top: "d" exclude { phase: TEST } }
`;

describe('Net: which layers a state includes', () => {
  const names = (opts: NetOptions) => net(TRAIN_TEST, opts).layers.map((l) => l.name);
  it('phase, stage, not_stage, level, exclude', () => {
    assert.deepEqual(names({ phase: 'TRAIN' }), ['train_data', 'not_staged', 'excluded']);
    assert.deepEqual(names({ phase: 'TEST' }), ['test_data', 'not_staged']);
    assert.deepEqual(names({ phase: 'TEST', stages: ['deploy'], level: 2 }), ['test_data', 'staged', 'leveled']);
  });
  it('TEST is the default phase, and the net\'s own state is read', () => {
    assert.deepEqual(names({}), ['test_data', 'not_staged']);
    assert.deepEqual(net(`state { phase: TRAIN stage: "deploy" }\n${TRAIN_TEST}`).layers.map((l) => l.name), ['train_data', 'staged', 'excluded']);
  });
  it('a layer with both include and exclude rules is refused, as Net::FilterNet does', () => {
    assert.throws(() => net('layer { name: "both" type: "ReLU" bottom: "x" top: "x" include { phase: TRAIN } exclude { phase: TEST } }', { phase: 'TRAIN' }),
      formatted(/layer 'both' has both include and exclude rules/));
  });
  it('shapes follow the phase', () => {
    assert.deepEqual(net(TRAIN_TEST, { phase: 'TRAIN' }).blobs().get('data')?.shape, [64, 3]);
  });
});

describe('Net: blobs', () => {
  it('in-place layers make new versions; multi-consumer blobs list every reader', () => {
    const n = net(`input: "x" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 3
      layer { name: "r" type: "ReLU" bottom: "x" top: "x" }
      layer { name: "a" type: "ReLU" bottom: "x" top: "a" }
      layer { name: "b" type: "ReLU" bottom: "x" top: "b" }`);
    const versions = n.blobVersions.filter((b) => b.name === 'x');
    assert.deepEqual(versions.map((v) => [v.version, v.producer, v.consumers]), [[0, -1, [0]], [1, 0, [1, 2]]]);
    assert.deepEqual(n.inputs().map((b) => [b.name, b.shape]), [['x', [1, 2, 3, 3]]]);
    assert.deepEqual(n.outputs().map((b) => b.name), ['a', 'b']);
  });
  it('legacy input_shape', () => {
    const n = net('input: "a" input: "b" input_shape { dim: 1 dim: 2 } input_shape { dim: 3 }');
    assert.deepEqual([...n.blobs()].map(([k, v]) => [k, v.shape]), [['a', [1, 2]], ['b', [3]]]);
  });
  it('an unknown bottom names the layer and the blobs that exist there', () => {
    assert.throws(() => net('input: "x" input_dim: 1 input_dim: 1 input_dim: 1 input_dim: 1\nlayer { name: "r" type: "ReLU" bottom: "y" top: "z" }'),
      formatted(/layer 'r': bottom 'y' does not exist at this point of the net \(phase TEST\)\n {2}hint: blobs available here: x/));
  });
  it('a second producer of a top is refused; in-place must keep the position', () => {
    const head = 'input: "x" input_dim: 1 input_dim: 1 input_dim: 1 input_dim: 1\n';
    assert.throws(() => net(`${head}layer { name: "a" type: "ReLU" bottom: "x" top: "y" }\nlayer { name: "b" type: "ReLU" bottom: "x" top: "y" }`),
      formatted(/layer 'b': top 'y' is already produced by layer 'a'/));
    assert.throws(() => net(`${head}layer { name: "s" type: "Slice" bottom: "x" top: "p" top: "x" slice_param { axis: 0 } }`),
      formatted(/top 'x' is already produced by the net input/));
  });
  it('an unknown type names the type, the dialect and the file to add', () => {
    assert.throws(() => net('layer { name: "m" type: "MyFancyLayer" top: "x" }'),
      formatted(/layer 'm': unknown layer type 'MyFancyLayer' \(dialect bvlc\)\n {2}hint: .*src\/layers\/my-fancy-layer\.ts/));
  });
  it('V0 and V1 nets are refused with a message that says so', () => {
    assert.throws(() => net('layers { name: "c" type: CONVOLUTION }'), /old V1 format/);
    assert.throws(() => net('layers { layer { name: "c" type: "conv" } }'), /old V0 format/);
  });
  it('an empty output names the layer and its input', () => {
    assert.throws(() => net('input: "x" input_dim: 1 input_dim: 1 input_dim: 5 input_dim: 5\nlayer { name: "p" type: "Pooling" bottom: "x" top: "y" pooling_param { kernel_size: 9 } }'),
      formatted(/layer 'p': Pooling layer: the kernel 9 is larger than the padded input \(5 \+ 2x0\).*\n {2}hint: input shape: 1x1x5x5/));
  });
});

describe('weights attach by layer name, as CopyTrainedLayersFrom', () => {
  it('copies every learned layer of TinyBN', () => {
    const { net: n } = loadNet(fixture('nets', 'tiny_bn.prototxt'));
    const report = loadWeights(n, fixture('binary', 'tiny_bn.caffemodel'));
    assert.deepEqual(report, { copied: ['conv1', 'bn1', 'scale1', 'fc'], ignored: [], missing: [] });
    assert.deepEqual(lintWeights(n), []);
  });
  it('names the layer, the blob and both shapes on a mismatch', () => {
    const { net: n } = loadNet(fixture('nets', 'tiny_bn.prototxt'));
    assert.throws(() => loadWeights(n, fixture('binary', 'tiny_bn_wrong_shape.caffemodel')),
      formatted(/layer 'fc' blob 0 \(weight\): the file has 5x32, the net expects 5x64\n {2}hint: to learn a layer from scratch .* rename the layer/));
  });
  it('refuses a blob count that differs (LeNet weights without ip1 blobs)', () => {
    const { net: n } = loadNet(fixture('nets', 'lenet_train_test.prototxt'), { inputs: { data: [100, 1, 28, 28] } });
    assert.throws(() => loadWeights(n, fixture('binary', 'lenet_weights.caffemodel')), /layer 'ip1' \(InnerProduct\): the file has 0 blobs, the net expects 2/);
  });
  it('accepts legacy 4-D shapes as Caffe does (1x1xMxN for an InnerProduct weight)', () => {
    assert.ok(shapeMatches([10, 500], { num: 1, channels: 1, height: 10, width: 500 }));
    assert.ok(shapeMatches([20], { num: 1, channels: 1, height: 1, width: 20 }));
    assert.ok(shapeMatches([20, 1, 5, 5], { num: 20, channels: 1, height: 5, width: 5 }));
    assert.ok(!shapeMatches([10, 500], { num: 1, channels: 1, height: 500, width: 10 }));
    assert.ok(!shapeMatches([2, 3, 4, 5, 6], { num: 2, channels: 3, height: 4, width: 5 }));
    assert.ok(!shapeMatches([10, 500], { shape: { dim: [1, 1, 10, 500] } }));
    const n = net('input: "x" input_dim: 1 input_dim: 4 input_dim: 1 input_dim: 1\nlayer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 2 } }');
    const legacy = { layer: [{ name: 'ip', blobs: [{ num: 1, channels: 1, height: 2, width: 4, data: new Float32Array(8) }, { num: 1, channels: 1, height: 1, width: 2, data: new Float32Array(2) }] }] };
    assert.deepEqual(attachWeights(n, legacy).copied, ['ip']);
  });
  it('lints values: NaN, a zero scale factor, negative variance', () => {
    const { net: n } = loadNet(fixture('nets', 'tiny_bn.prototxt'));
    loadWeights(n, fixture('binary', 'tiny_bn_bad_values.caffemodel'));
    assert.deepEqual(lintWeights(n).map((i) => `${i.severity} ${i.layer}: ${i.message}`), [
      'error conv1: blob 0 (weight) has 1 NaN and 0 infinite values of 108',
      'error bn1: variance is negative in 1 of 4 channels',
      'warning bn1: scale factor is 0: the stored mean and variance count as zero (the layer divides by sqrt(eps))',
    ]);
  });
});

describe('definition lint', () => {
  const lints = (text: string, phase: 'TRAIN' | 'TEST' = 'TEST') => {
    const file = parseCaffeText(text, { kinds: ['net'] });
    return lintNet(buildNet(file.message, { phase, dialect: file.dialect }), file.message).map((l) => `${l.layer}: ${l.message}`);
  };
  const head = 'input: "x" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n';
  it('xavier in front of ReLU', () => {
    const out = lints(`${head}layer { name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 2 kernel_size: 1 weight_filler { type: "xavier" } } }
      layer { name: "r" type: "ReLU" bottom: "c" top: "c" }`);
    assert.equal(out.length, 1);
    assert.match(out[0], /^c: weight_filler xavier feeds ReLU 'r'.*msra/);
    assert.deepEqual(lints(`${head}layer { name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 2 kernel_size: 1 weight_filler { type: "msra" } } }
      layer { name: "r" type: "ReLU" bottom: "c" top: "c" }`), []);
  });
  it('use_global_stats: false at TEST', () => {
    const text = `${head}layer { name: "bn" type: "BatchNorm" bottom: "x" top: "x" batch_norm_param { use_global_stats: false } }`;
    assert.match(lints(text)[0], /^bn: use_global_stats: false in the TEST phase/);
    assert.deepEqual(lints(text, 'TRAIN'), []);
  });
  it('ignore_label that is a real class of a two-class problem', () => {
    const text = `${head}input: "label" input_dim: 1 input_dim: 1 input_dim: 8 input_dim: 8
      layer { name: "score" type: "Convolution" bottom: "x" top: "score" convolution_param { num_output: 2 kernel_size: 1 } }
      layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" loss_param { ignore_label: 1 } }`;
    assert.match(lints(text)[0], /^loss: ignore_label 1 is one of the 2 classes/);
    assert.deepEqual(lints(text.replace('ignore_label: 1', 'ignore_label: 255')), []);
  });
  it('a resize done one way in TRAIN and another in TEST', () => {
    const text = `${head}layer { name: "up" type: "Deconvolution" bottom: "x" top: "up" include { phase: TRAIN } convolution_param { num_output: 3 kernel_size: 4 stride: 2 group: 3 weight_filler { type: "bilinear" } } }
      layer { name: "up_test" type: "Interp" bottom: "x" top: "up" include { phase: TEST } interp_param { zoom_factor: 2 } }`;
    const out = lints(text);
    assert.equal(out.length, 1);
    assert.match(out[0], /^up_test: 'up' is resized with Deconvolution, 1 bottoms, bilinear in TRAIN but Interp, 1 bottoms in TEST/);
  });
});

describe('--input shapes for inputs and data layers', () => {
  it('give a train/val net with a Data layer its shapes', () => {
    const { net: n } = loadNet(fixture('nets', 'lenet_train_test.prototxt'), { inputs: { data: [100, 1, 28, 28] } });
    assert.deepEqual(n.blobs().get('ip2')?.shape, [100, 10]);
    assert.equal(n.layer('mnist')?.unknown, undefined);
    const { net: unknown } = loadNet(fixture('nets', 'lenet_train_test.prototxt'));
    assert.equal(unknown.blobs().get('ip2')?.shape, undefined);
  });
  it('a name that is not an input is refused', () => {
    assert.throws(() => loadNet(fixture('nets', 'lenet_train_test.prototxt'), { inputs: { conv1: [1] } }), formatted(/--input conv1: the net has no input or data-layer top of that name\n {2}hint: inputs here: data, label/));
  });
});

describe('the definition inside a caffemodel is a net too', () => {
  it('reads TinyBN from its caffemodel', () => {
    const file = readCaffeFile(fixture('binary', 'tiny_bn.caffemodel'), { kinds: ['net'] });
    assert.equal(buildNet(file.message).layers.length, 8);
  });
});
