// deploy, fc-to-conv and edit driven as a user would: exit codes, messages, files written or not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TOOL = join(ROOT, 'dist', 'fixtures', 'tools', 'random-weights.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('caffe-tool deploy', () => {
  it('writes the hand-written LeNet deploy net and says what it did', () => {
    const out = join(tempDir(), 'deploy.prototxt');
    const r = run('deploy', fixture('nets', 'lenet_train_test.prototxt'), out, '--input', 'data=64,1,28,28');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(fixture('surgery', 'lenet_deploy_b64.prototxt'), 'utf8'));
    assert.match(r.stdout, /became Softmax 'prob'/);
    assert.match(r.stdout, /outputs: prob 64x10/);
  });

  it('without --input for an LMDB Data layer: exit 1, names the top, suggests --input, writes nothing', () => {
    const out = join(tempDir(), 'deploy.prototxt');
    const r = run('deploy', fixture('nets', 'lenet_train_test.prototxt'), out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /top 'data' of Data layer 'mnist' is unknown/);
    assert.match(r.stderr, /hint: give it with --input data=100,C,H,W/);
    assert.ok(!existsSync(out));
  });

  it('never overwrites its input', () => {
    const r = run('deploy', fixture('nets', 'lenet_train_test.prototxt'), fixture('nets', 'lenet_train_test.prototxt'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is the input file/);
  });
});

describe('caffe-tool fc-to-conv and edit', () => {
  it('deploy, random weights, fc-to-conv, then info reads the result with its weights', () => {
    const dir = tempDir();
    const deploy = join(dir, 'deploy.prototxt');
    assert.equal(run('deploy', fixture('nets', 'lenet_train_test.prototxt'), deploy, '--input', 'data=2,1,28,28').code, 0);
    const weights = join(dir, 'w.caffemodel');
    const g = spawnSync(process.execPath, [TOOL, deploy, '3', weights], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const [m2, w2] = [join(dir, 'conv.prototxt'), join(dir, 'conv.caffemodel')];
    const r = run('fc-to-conv', '--model', deploy, '--weights', weights, '--out-model', m2, '--out-weights', w2);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ip1: InnerProduct on 2x50x4x4 -> Convolution 500 4x4/);
    assert.match(r.stdout, /outputs: prob 2x10x1x1/);
    const info = run('info', m2, '--weights', w2, '--json');
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual(JSON.parse(info.stdout).blobs.prob, [2, 10, 1, 1]);
    const missing = run('fc-to-conv', '--model', deploy, '--weights', fixture('binary', 'lenet_weights.caffemodel'), '--out-model', join(dir, 'x.prototxt'), '--out-weights', join(dir, 'x.caffemodel'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /layer 'ip1' \(InnerProduct\): the file has 0 blobs/);
    assert.ok(!existsSync(join(dir, 'x.prototxt')));

    const [e, ew] = [join(dir, 'e.prototxt'), join(dir, 'e.caffemodel')];
    const ed = run('edit', deploy, e, '--rename', 'ip2=fc_out', '--remove', 'relu1', '--num-output', 'ip1=300', '--weights', weights, '--out-weights', ew);
    assert.equal(ed.code, 0, ed.stderr);
    assert.match(ed.stdout, /re-initialised from their fillers: ip1, fc_out/);
    const info2 = run('info', e, '--weights', ew, '--json');
    assert.equal(info2.code, 0, info2.stderr);
    assert.deepEqual(JSON.parse(info2.stdout).blobs.ip1, [2, 300]);
    const bad = run('edit', deploy, join(dir, 'f.prototxt'), '--remove', 'pool2');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cannot remove 'pool2'/);
  });
});
