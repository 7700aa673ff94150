// DeepLab's MatWrite through `caffe-tool test`: each forward pass's bottoms written as DeepLab's matio code writes
// them (one single `data` variable, dims [W, H, C, N] over the N x C x H x W values), named from the source list;
// the values checked against the images as OpenCV read them (fixtures/data/ref, fixtures/make_data.py).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeCaffeFile } from '../../src/io/files.js';
import { type MatNumeric, readMatFile } from '../../src/io/mat.js';
import { readNpy } from '../../src/io/npy.js';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const MEAN = [104.008, 116.669, 122.675].map(Math.fround);

describe('caffe-tool test with a MatWrite layer (DeepLab)', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'list.txt'), ['img_0.png', 'img_1.png'].map((f) => fixture('data', 'seg', f)).join('\n') + '\n');
  writeFileSync(join(dir, 'ids.txt'), 'img_0.png extra\nimg_1.png\n');
  const net = join(dir, 'net.prototxt');
  writeFileSync(net, `name: "deeplab_test"
layer { name: "data" type: "ImageSegData" top: "data" top: "label" top: "data_dim"
  transform_param { mean_value: 104.008 mean_value: 116.669 mean_value: 122.675 }
  image_data_param { source: "${join(dir, 'list.txt')}" batch_size: 1 label_type: NONE } }
layer { name: "fc8" type: "Convolution" bottom: "data" top: "fc8" convolution_param { num_output: 2 kernel_size: 1 weight_filler { type: "constant" value: 1 } } }
layer { name: "write" type: "MatWrite" bottom: "data" bottom: "fc8" mat_write_param { prefix: "${join(dir, 'out')}/" source: "${join(dir, 'ids.txt')}" strip: 4 } }
layer { name: "silence" type: "Silence" bottom: "label" bottom: "data_dim" }
`);
  const weights = join(dir, 'w.caffemodel');

  it('writes every bottom of every pass to PREFIX + name + _blob_i.mat, data(w, h, c, n) = blob(n, c, h, w)', () => {
    // fc8's weights: all 1, bias 0.
    const blob = (dims: number[], value: number) => ({ shape: { dim: dims }, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value) });
    const layer = { name: 'fc8', type: 'Convolution', blobs: [blob([2, 3, 1, 1], 1), blob([2], 0)] };
    writeCaffeFile(weights, { kind: 'net', dialect: 'deeplab', message: { name: 'deeplab_test', layer: [layer] } }, 'binary');
    const t = run('test', '-model', net, '-weights', weights, '-iterations', '2');
    assert.equal(t.status, 0, t.stderr);
    const bgr = readNpy(readFileSync(fixture('data', 'ref', 'seg_first2_bgr.npy'))).data;
    for (const [i, name] of ['img_0', 'img_1'].entries()) {
      const [data, fc8] = [0, 1].map((b) => {
        const file = readMatFile(join(dir, 'out', `${name}_blob_${b}.mat`));
        assert.deepEqual(file.variables.map((v) => v.name), ['data']);
        const v = file.variables[0].value as MatNumeric;
        assert.equal(v.class, 'single');
        return { dims: v.dims, data: v.data as Float32Array };
      });
      assert.deepEqual(data.dims, [32, 24, 3, 1]);
      assert.deepEqual(fc8.dims, [32, 24, 2, 1]);
      // Column-major [W, H, C, N]: element w + 32 (h + 24 c) is blob (0, c, h, w), the N x C x H x W order itself.
      for (let k = 0; k < 3 * 768; k++) {
        assert.equal(data.data[k], Math.fround(bgr[i * 3 * 768 + k] - MEAN[Math.floor(k / 768)]), `${name} data[${k}]`);
      }
      // fc8: a 1x1 convolution with weights 1 and bias 0, the sum of the three channels, in both outputs.
      for (let k = 0; k < 768; k++) {
        const sum = data.data[k] + data.data[768 + k] + data.data[1536 + k];
        for (const o of [0, 1]) assert.ok(Math.abs(fc8.data[o * 768 + k] - sum) <= 1e-4 * Math.max(1, Math.abs(sum)), `${name} fc8[${o}, ${k}]`);
      }
    }
  });

  it('a test longer than the source list stops with Caffe\'s reason, naming the layer (exit 1)', () => {
    const t = run('test', '-model', net, '-weights', weights, '-iterations', '3');
    assert.equal(t.status, 1);
    assert.match(t.stderr, /layer 'write': the test has run for more iterations than MatWrite's source lists names \(2\)/);
  });
});

describe('MatWrite in the test net of a training run', () => {
  it('writes at every test, its count going on from one test to the next (no source: iter_0, iter_1, ...)', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'out'));
    const net = readFileSync(fixture('solve', 'deeplab_tiny_train_test.prototxt'), 'utf8').replaceAll('"../data/', `"${fixture('data')}/`)
      + `layer { name: "write" type: "MatWrite" bottom: "fc8" include { phase: TEST } mat_write_param { prefix: "${join(dir, 'out')}/" } }\n`;
    writeFileSync(join(dir, 'net.prototxt'), net);
    const solver = readFileSync(fixture('solve', 'deeplab_tiny_solver.prototxt'), 'utf8')
      .replace(/^net: .*$/m, `net: "${join(dir, 'net.prototxt')}"`).replace(/^test_interval: .*$/m, 'test_interval: 20')
      .replace(/^max_iter: .*$/m, 'max_iter: 40').replace(/^snapshot_prefix: .*$/m, `snapshot_prefix: "${join(dir, 'dl')}"`);
    writeFileSync(join(dir, 'solver.prototxt'), solver);
    const t = run('train', '-solver', join(dir, 'solver.prototxt'));
    assert.equal(t.status, 0, t.stderr);
    // Tests at iterations 0, 20 and 40, each one pass of 2 images: fc8 is 2 x 3 x 12 x 12, written [12, 12, 3, 2].
    for (const k of [0, 1, 2]) {
      const v = readMatFile(join(dir, 'out', `iter_${k}_blob_0.mat`)).variables[0].value as MatNumeric;
      assert.deepEqual(v.dims, [12, 12, 3, 2]);
    }
    assert.throws(() => readFileSync(join(dir, 'out', 'iter_3_blob_0.mat')));
  });
});
