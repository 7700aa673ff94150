// caffe-tool info as a user and a script call it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, ROOT } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('caffe-tool info', () => {
  it('prints the table, totals, phase and dialect', () => {
    const r = run('info', fixture('nets', 'lenet.prototxt'));
    assert.equal(r.code, 0, r.stderr);
    // lenet.prototxt declares its input with input_dim: upgraded in memory to an Input layer, as Caffe does.
    assert.match(r.stdout, /^net LeNet: phase TEST, dialect bvlc, 9 layers\n/);
    assert.match(r.stdout, /\ninput +Input +-> data +64x1x28x28 /);
    assert.match(r.stderr, /lenet\.prototxt: net upgraded in memory to the current format \(1 change: net: input \+ input_dim -> layer input/);
    assert.match(r.stdout, /\nconv1 +Convolution +data -> conv1 +64x20x24x24 +520 +18\.43 M\n/);
    assert.match(r.stdout, /\ntotal: 431,080 learned parameters/);
    assert.match(r.stdout, /\noutputs: prob\n/);
  });

  it('--json holds layers (name, type, bottoms, tops, params, macs) and every blob\'s last shape', () => {
    const r = run('info', fixture('nets', 'tiny_bn.prototxt'), '--json', '--weights', fixture('binary', 'tiny_bn.caffemodel'));
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const conv = doc.layers.find((l: { name: string }) => l.name === 'conv1');
    assert.deepEqual({ ...conv, shapes: undefined }, { name: 'conv1', type: 'Convolution', bottoms: ['data'], tops: ['conv1'], shapes: undefined, params: 108, macs: 4 * 64 * 27 });
    assert.deepEqual(doc.blobs, { data: [1, 3, 8, 8], conv1: [1, 4, 8, 8], pool1: [1, 4, 4, 4], fc: [1, 5], prob: [1, 5] });
    assert.deepEqual(doc.weights.copied, ['conv1', 'bn1', 'scale1', 'fc']);
    assert.deepEqual(doc.values, []);
  });

  it('bad weights: the mismatch with both shapes, exit 1', () => {
    const r = run('info', fixture('nets', 'tiny_bn.prototxt'), '--weights', fixture('binary', 'tiny_bn_wrong_shape.caffemodel'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tiny_bn_wrong_shape\.caffemodel: the weights do not fit the net:\n {2}layer 'fc' blob 0 \(weight\): the file has 5x32, the net expects 5x64/);
  });

  it('bad values are reported and exit 1', () => {
    const r = run('info', fixture('nets', 'tiny_bn.prototxt'), '--weights', fixture('binary', 'tiny_bn_bad_values.caffemodel'));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /error: layer 'conv1': blob 0 \(weight\) has 1 NaN/);
  });

  it('swapped model and weights are named', () => {
    const r = run('info', fixture('nets', 'tiny_bn.prototxt'), '--weights', fixture('nets', 'tiny_bn.prototxt'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tiny_bn\.prototxt: this is a text file, but a binary file .* was expected here\n {2}hint: did you swap the model and the weights/);
  });

  it('phase, stage and Caffe\'s single-dash flags', () => {
    const r = run('info', fixture('nets', 'lenet_train_test.prototxt'), '--phase', 'train', '--input', 'data=64,1,28,28', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.phase, 'TRAIN');
    assert.deepEqual(doc.blobs.ip2, [64, 10]);
    assert.equal(run('info', '-model', fixture('nets', 'lenet.prototxt')).code, 0);
    assert.equal(run('info').code, 2);
    assert.equal(run('info', fixture('nets', 'lenet.prototxt'), '--phase', 'deploy').code, 2);
  });
});
