// absorb-bn through the real command line: the files it writes, its report, --verify, and its refusals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blobData } from '../../src/io/blob.js';
import { readCaffeFile, writeCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const NET = `name: "small"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" param { lr_mult: 1 } convolution_param { num_output: 2 kernel_size: 3 bias_term: false } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "bn1" batch_norm_param { eps: 0.001 } }
layer { name: "sc1" type: "Scale" bottom: "bn1" top: "bn1" scale_param { bias_term: true } }
layer { name: "relu1" type: "ReLU" bottom: "bn1" top: "bn1" }
layer { name: "bn2" type: "BatchNorm" bottom: "bn1" top: "out" }
`;

const f32 = (data: number[], shape: number[]): Message => ({ shape: { dim: shape }, data: Float32Array.from(data) });

function setup() {
  const dir = tempDir();
  const model = join(dir, 'net.prototxt');
  const weights = join(dir, 'net.caffemodel');
  writeFileSync(model, NET);
  const param = readCaffeFile(model).message;
  const blobs: Record<string, Message[]> = {
    conv1: [f32(Array.from({ length: 36 }, (_, i) => Math.cos(i)), [2, 2, 3, 3])],
    bn1: [f32([1, -2], [2]), f32([6, 3], [2]), f32([2], [1])],
    sc1: [f32([1.5, 0.5], [2]), f32([0.25, -1], [2])],
    bn2: [f32([0.5, 1], [2]), f32([4, 2], [2]), f32([0.5], [1])],
  };
  const layer = (param.layer as Message[]).map((l) => (blobs[l.name as string] ? { ...l, blobs: blobs[l.name as string] } : l));
  writeCaffeFile(weights, { kind: 'net', dialect: 'bvlc', message: { ...param, layer } }, 'binary');
  return { dir, model, weights, outModel: join(dir, 'folded.prototxt'), outWeights: join(dir, 'folded.caffemodel') };
}

describe('caffe-tool absorb-bn', () => {
  it('folds, writes the definition as text and the definition + blobs as a caffemodel, and --verify agrees', () => {
    const f = setup();
    const r = run('absorb-bn', '--model', f.model, '--weights', f.weights, '--out-model', f.outModel, '--out-weights', f.outWeights, '--verify');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'folded bn1 (BatchNorm) + sc1 (Scale) into conv1 (Convolution), which got a bias');
    assert.match(lines[1], /^turned bn2 \(BatchNorm\) into one Scale layer: its input 'bn1' comes from ReLU layer 'relu1'/);
    assert.equal(lines[2], '1 of 2 batch normalizations folded, 1 not (see above)');
    const m = /^verify: out on random input of data 1x2x5x5: largest absolute difference (\S+), relative (\S+)/.exec(lines[3]);
    assert.ok(m, lines[3]);
    assert.ok(Number(m[1]) < 1e-5 && Number(m[2]) < 1e-5, lines[3]);
    assert.match(lines[4], /^wrote .*folded\.prototxt \(\d+ bytes\) and .*folded\.caffemodel \(\d+ bytes\)$/);

    const def = readCaffeFile(f.outModel);
    assert.equal(def.encoding, 'text');
    const layers = def.message.layer as Message[];
    assert.deepEqual(layers.map((l) => `${l.name}:${l.type}`), ['data:Input', 'conv1:Convolution', 'relu1:ReLU', 'bn2:Scale']);
    assert.ok(layers.every((l) => l.blobs === undefined));
    assert.deepEqual(layers[1].top, ['bn1']);
    assert.deepEqual(layers[1].param, [{ lr_mult: 1 }], 'params kept');
    assert.equal((layers[1].convolution_param as Message).bias_term, true);
    assert.equal(def.message.name, 'small');

    const w = readCaffeFile(f.outWeights);
    assert.equal(w.encoding, 'binary');
    const wl = w.message.layer as Message[];
    assert.deepEqual(wl.map((l) => ((l.blobs as Message[] | undefined) ?? []).length), [0, 2, 0, 2]);
    // bn1: mean [0.5, -1], var [3, 1.5]; bn2 as a Scale: mean [1, 2], var [8, 4], eps 1e-5
    const conv = wl[1].blobs as Message[];
    const a0 = 1.5 / Math.sqrt(3 + 0.001);
    const a1 = 0.5 / Math.sqrt(1.5 + 0.001);
    const b = blobData(conv[1]);
    assert.ok(Math.abs(b[0] - (0.25 - a0 * 0.5)) < 1e-6 && Math.abs(b[1] - (-1 + a1 * 1)) < 1e-6, `bias ${[...b]}`);
    assert.ok(Math.abs(blobData(conv[0])[0] - a0 * Math.cos(0)) < 1e-6);
    assert.ok(Math.abs(blobData(conv[0])[18] - a1 * Math.cos(18)) < 1e-6);
    const s = wl[3].blobs as Message[];
    const [g0, g1] = [1 / Math.sqrt(8 + 1e-5), 1 / Math.sqrt(4 + 1e-5)];
    const [sa, sb] = [blobData(s[0]), blobData(s[1])];
    assert.ok(Math.abs(sa[0] - g0) < 1e-7 && Math.abs(sa[1] - g1) < 1e-7 && Math.abs(sb[0] + g0) < 1e-7 && Math.abs(sb[1] + 2 * g1) < 1e-7);
  });

  it('--keep-unfoldable leaves the BN after the ReLU as it is', () => {
    const f = setup();
    const r = run('absorb-bn', '--model', f.model, '--weights', f.weights, '--out-model', f.outModel, '--out-weights', f.outWeights, '--keep-unfoldable');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /left bn2 \(BatchNorm\) as it is: its input 'bn1' comes from ReLU layer 'relu1'/);
    assert.equal((readCaffeFile(f.outModel).message.layer as Message[])[3].type, 'BatchNorm');
  });

  it('a SegNet net keeps what SegNet\'s Caffe reads: its input fields, and an unfoldable INFERENCE BN (no Input, no Scale)', () => {
    // alexgkendall/caffe-segnet's LayerParameter stops at field 138: no input_param (143), no scale_param (142).
    const dir = tempDir();
    const model = join(dir, 'segnet.prototxt');
    const weights = join(dir, 'segnet.caffemodel');
    writeFileSync(model, `name: "segnet_small"
input: "data"
input_dim: 1
input_dim: 2
input_dim: 4
input_dim: 4
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "bn1" type: "BN" bottom: "conv1" top: "conv1" bn_param { bn_mode: INFERENCE } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "bn2" type: "BN" bottom: "conv1" top: "conv1" bn_param { bn_mode: INFERENCE } }
layer { name: "up" type: "Upsample" bottom: "conv1" top: "up" upsample_param { scale: 2 } }
`);
    const file = readCaffeFile(model);
    assert.equal(file.dialect, 'segnet');
    const c4 = (v: number[]) => f32(v, [1, 2, 1, 1]);
    const blobs: Record<string, Message[]> = {
      conv1: [f32([1, 2, 3, 4], [2, 2, 1, 1]), f32([0.5, -0.5], [2])],
      bn1: [c4([2, 3]), c4([1, -1])],
      bn2: [c4([0.5, 4]), c4([0.25, 1])],
    };
    const layer = (file.message.layer as Message[]).map((l) => (blobs[l.name as string] ? { ...l, blobs: blobs[l.name as string] } : l));
    writeCaffeFile(weights, { kind: 'net', dialect: 'segnet', message: { ...file.message, layer } }, 'binary');
    const outModel = join(dir, 'folded.prototxt');
    const outWeights = join(dir, 'folded.caffemodel');
    const r = run('absorb-bn', '--model', model, '--weights', weights, '--out-model', outModel, '--out-weights', outWeights);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no upgrade notice: the input fields stay');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'folded bn1 (BN) into conv1 (Convolution)');
    assert.equal(lines[1], 'left bn2 (BN) as it is: its input \'conv1\' comes from ReLU layer \'relu1\', not from a Convolution, ConvolutionDepthwise, Deconvolution or InnerProduct; ' +
      'the segnet fork\'s Caffe has no Scale layer to take its place (its INFERENCE BN already is a per-channel scale and shift)');
    const text = readFileSync(outModel, 'utf8');
    assert.match(text, /^name: "segnet_small"\ninput: "data"\ninput_dim: 1\ninput_dim: 2\ninput_dim: 4\ninput_dim: 4\nlayer \{/);
    assert.doesNotMatch(text, /Input|Scale|input_param|scale_param/);
    const out = readCaffeFile(outWeights).message.layer as Message[];
    assert.deepEqual(out.map((l) => `${l.name}:${l.type}`), ['conv1:Convolution', 'relu1:ReLU', 'bn2:BN', 'up:Upsample']);
    // bn1 is y = [2, 3] x + [1, -1]: W' = [2, 4, 9, 12], b' = [2 * 0.5 + 1, 3 * -0.5 - 1]; bn2's blobs as they were.
    assert.deepEqual([...blobData((out[0].blobs as Message[])[0])], [2, 4, 9, 12]);
    assert.deepEqual([...blobData((out[0].blobs as Message[])[1])], [2, -2.5]);
    assert.deepEqual((out[2].blobs as Message[]).map((b) => [...blobData(b)]), [[0.5, 4], [0.25, 1]]);
  });

  it('--dialect NAME reads a file as one fork, as the mixed-fork hint says', () => {
    const dir = tempDir();
    const model = join(dir, 'mixed.prototxt');
    // upsample_param is SegNet/ENet's, interp_param DeepLab/PSPNet's: no fork has both.
    writeFileSync(model, `input: "data" input_dim: 1 input_dim: 2 input_dim: 4 input_dim: 4
layer { name: "up" type: "Upsample" bottom: "data" top: "up" upsample_param { scale: 2 } }
layer { name: "zoom" type: "Interp" bottom: "up" top: "zoom" interp_param { zoom_factor: 2 } }
`);
    const args = ['absorb-bn', '--model', model, '--weights', join(dir, 'w.caffemodel'), '--out-model', join(dir, 'o.prototxt'), '--out-weights', join(dir, 'o.caffemodel')];
    const r = run(...args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mixed\.prototxt: this file uses fields of different Caffe forks together/);
    assert.match(r.stderr, /hint: .*caffe-tool convert .*mixed\.prototxt OUT\.prototxt --dialect NAME \(bvlc, segnet, .*\), or --dialect NAME on a command that takes it/);
    const segnet = run(...args, '--dialect', 'segnet');
    assert.equal(segnet.code, 1);
    assert.match(segnet.stderr, /mixed\.prototxt:3:\d+: unknown field 'interp_param' in LayerParameter/);
    const bad = run(...args, '--dialect', 'caffe2');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown dialect 'caffe2'/);
  });

  it('--dialect NAME is used for the model, the weights and what is written', () => {
    const f = setup();
    const r = run('absorb-bn', '--model', f.model, '--weights', f.weights, '--out-model', f.outModel, '--out-weights', f.outWeights, '--dialect', 'nvcaffe');
    assert.equal(r.code, 0, r.stderr);
    // NVCaffe's BatchNorm keeps its statistics as they are (no scale-factor division): bn1's mean [1, -2], var [6, 3].
    const conv = (readCaffeFile(f.outWeights, { dialect: 'nvcaffe' }).message.layer as Message[])[1].blobs as Message[];
    const a0 = 1.5 / Math.sqrt(6 + 0.001);
    assert.ok(Math.abs(blobData(conv[0])[0] - a0 * Math.cos(0)) < 1e-6);
    assert.ok(Math.abs(blobData(conv[1])[0] - (0.25 - a0 * 1)) < 1e-6);
  });

  it('never overwrites an input, needs every file, and names swapped files', () => {
    const f = setup();
    let r = run('absorb-bn', '--model', f.model, '--weights', f.weights, '--out-model', f.outModel, '--out-weights', f.weights);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is the input file/);
    r = run('absorb-bn', '--model', f.model, '--weights', f.weights, '--out-model', f.outModel);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs --model, --weights, --out-model and --out-weights/);
    r = run('absorb-bn', '-model', f.weights, '-weights', f.model, '--out-model', f.outModel, '--out-weights', f.outWeights);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /swap/);
    assert.ok(!existsSync(f.outModel) && !existsSync(f.outWeights), 'no output after a failure');
  });
});
