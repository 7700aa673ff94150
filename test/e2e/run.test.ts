// to-onnx, run and time through the real command line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { writeCaffeFile } from '../../src/io/files.js';
import { readNpy } from '../../src/io/npy.js';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const CASE = fixture('onnx', 'conv_group_dilation');

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('caffe-tool to-onnx, run, time', () => {
  it('to-onnx writes a model that run gives OpenCV\'s output with', () => {
    const dir = tempDir();
    const onnx = join(dir, 'm.onnx');
    const r = run('to-onnx', '--model', join(CASE, 'net.prototxt'), '--weights', join(CASE, 'weights.caffemodel'), '-o', onnx);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /m\.onnx: ONNX opset 17, \d+ bytes\n {2}inputs: x 2x4x9x11\n {2}outputs: y 2x6x5x11\n/);
    const out = join(dir, 'y.npy');
    const r2 = run('run', '--onnx', onnx, '--input', join(CASE, 'input_x.npy'), '--output', out);
    assert.equal(r2.code, 0, r2.stderr);
    const got = readNpy(readFileSync(out));
    const expected = readNpy(readFileSync(join(CASE, 'expected_y.npy')));
    assert.deepEqual(got.shape, [2, 6, 5, 11]);
    assert.ok(maxDiff(got.data, expected.data) < 1e-4);
  });

  it('run on a Caffe model writes the segmentation mask in the VOC palette', async () => {
    const dir = tempDir();
    const mask = join(dir, 'mask.png');
    const r = run('run', '--model', join(CASE, 'net.prototxt'), '--weights', join(CASE, 'weights.caffemodel'), '--input', join(CASE, 'input_x.npy'), '--output', mask);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /segmentation 5x11: /);
    // The input .npy holds a batch of 2: one mask per item.
    const expected = readNpy(readFileSync(join(CASE, 'expected_y.npy')));
    const palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128]];
    for (const i of [0, 1]) {
      const png = await sharp(readFileSync(join(dir, `mask_${i}.png`))).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([png.info.width, png.info.height], [11, 5]);
      for (let p = 0; p < 55; p++) {
        let best = 0;
        for (let c = 1; c < 6; c++) if (expected.data[(i * 6 + c) * 55 + p] > expected.data[(i * 6 + best) * 55 + p]) best = c;
        assert.deepEqual([...png.data.subarray(p * 3, p * 3 + 3)], palette[best], `item ${i} pixel ${p}`);
      }
    }
  });

  it('run on an image: BGR order, resize, the mean subtracted, then the scale', async () => {
    const dir = tempDir();
    // A net that passes its input through: a 1x1 convolution with identity weights.
    const net = join(dir, 'id.prototxt');
    writeFileSync(net, 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 2 dim: 2 } } }\n' +
      'layer { name: "id" type: "Convolution" bottom: "data" top: "out" convolution_param { num_output: 3 kernel_size: 1 bias_term: false } }\n');
    const weights = join(dir, 'id.caffemodel');
    writeCaffeFile(weights, { kind: 'net', dialect: 'bvlc', message: { layer: [{ name: 'id', blobs: [{ shape: { dim: [3, 3, 1, 1] }, data: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }] }] } }, 'binary');
    // A 4x4 image of one colour: R 200, G 100, B 50. Resized to 2x2 it stays that colour.
    const img = join(dir, 'c.png');
    writeFileSync(img, await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toBuffer());
    const out = join(dir, 'out.npy');
    const r = run('run', '--model', net, '--weights', weights, '--input', img, '--mean-values', '10,20,30', '--scale', '0.5', '--output', out);
    assert.equal(r.code, 0, r.stderr);
    const got = readNpy(readFileSync(out));
    // Channel 0 is blue: (50 - 10) * 0.5 = 20; green (100 - 20) * 0.5 = 40; red (200 - 30) * 0.5 = 85.
    assert.deepEqual(Array.from(got.data), [20, 20, 20, 20, 40, 40, 40, 40, 85, 85, 85, 85]);
    const rgb = run('run', '--model', net, '--weights', weights, '--input', img, '--rgb', '--output', out);
    assert.equal(rgb.code, 0, rgb.stderr);
    assert.deepEqual(Array.from(readNpy(readFileSync(out)).data), [200, 200, 200, 200, 100, 100, 100, 100, 50, 50, 50, 50]);
  });

  it('a broken image and a missing CUDA provider are clear errors', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'not an image');
    const net = join(CASE, 'net.prototxt');
    const w = join(CASE, 'weights.caffemodel');
    const r = run('run', '--model', fixture('onnx', 'conv_no_bias', 'net.prototxt'), '--weights', fixture('onnx', 'conv_no_bias', 'weights.caffemodel'), '--input', bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot decode the image .*bad\.png/);
    const cuda = run('time', '--model', net, '--weights', w, '--device', 'cuda', '--iterations', '1');
    assert.equal(cuda.code, 1);
    assert.match(cuda.stderr, /CUDA provider is not installed\n {2}hint: .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
    assert.equal(run('time', '--model', net, '-gpu', '0', '--iterations', '1').code, 1);
    assert.ok(!existsSync(join(dir, 'out.npy')));
  });

  it('--threads: a whole number sets ONNX Runtime\'s threads, anything else is a usage error', () => {
    const net = join(CASE, 'net.prototxt');
    assert.equal(run('time', '--model', net, '--iterations', '2', '--warmup', '1', '--threads', '1').code, 0);
    const bad = run('time', '--model', net, '--iterations', '1', '--threads', '1.5');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--threads must be a whole number from 1, not '1\.5'/);
  });

  it('time: --iterations, --warmup and --batch must be whole numbers (a usage error otherwise)', () => {
    const net = join(CASE, 'net.prototxt');
    for (const [flag, value, message] of [['--iterations', '2.5', /--iterations must be a positive whole number, not '2\.5'/], ['--warmup', '0.5', /--warmup must be a whole number, 0 or more/], ['--batch', '0', /--batch must be a positive whole number, not '0'/]] as const) {
      const r = run('time', '--model', net, '--iterations', '1', flag, value);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('time prints mean and percentiles, and --json', () => {
    const r = run('time', '--model', join(CASE, 'net.prototxt'), '--iterations', '5', '--warmup', '1', '--batch', '3', '--json');
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout);
    assert.equal(t.batch, 3);
    assert.equal(t.iterations, 5);
    assert.ok(t.meanMs > 0 && t.p50Ms <= t.p99Ms && t.imagesPerSecond > 0);
  });
});
