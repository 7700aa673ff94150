// Drives the real command line as a user would: exit codes, stdout/stderr, files written or not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, readFixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('caffe-tool convert', () => {
  it('text to binary gives the bytes protobuf writes, and back to the text protoc prints', () => {
    const dir = tempDir();
    const bin = join(dir, 'lenet.caffemodel');
    const r = run('convert', fixture('binary', 'lenet_weights.caffemodel.protoc.txt'), bin);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NetParameter \(text -> binary, dialect bvlc\)/);
    assert.ok(readFileSync(bin).equals(readFixture('binary', 'lenet_weights.caffemodel')));
    const txt = join(dir, 'lenet.prototxt');
    assert.equal(run('convert', bin, txt).code, 0);
    assert.equal(readFileSync(txt, 'utf8'), readFixture('binary', 'lenet_weights.caffemodel.protoc.txt').toString('utf8'));
  });

  it('keeps a fork file in its fork: an ENet model stays readable by ENet', () => {
    const dir = tempDir();
    const out = join(dir, 'enet.caffemodel');
    assert.equal(run('convert', fixture('dialects', 'enet.protoc.txt'), out).code, 0);
    assert.ok(readFileSync(out).equals(readFixture('dialects', 'enet.caffemodel')));
  });

  it('converts between forks by field name with --out-dialect', () => {
    const dir = tempDir();
    const out = join(dir, 'up.prototxt');
    writeFileSync(join(dir, 'in.prototxt'), 'layer { name: "up" type: "Upsample" upsample_param { scale: 2 } }\n');
    assert.equal(run('convert', join(dir, 'in.prototxt'), join(dir, 'segnet.caffemodel')).code, 0);
    // SegNet keeps upsample_param at 137 (key (137 << 3 | 2) = ca 08), ENet at 147 (key 9a 09).
    assert.ok(readFileSync(join(dir, 'segnet.caffemodel')).includes(Buffer.from([0xca, 0x08, 0x02, 0x08, 0x02])));
    assert.equal(run('convert', join(dir, 'in.prototxt'), join(dir, 'enet.caffemodel'), '--out-dialect', 'enet').code, 0);
    assert.ok(readFileSync(join(dir, 'enet.caffemodel')).includes(Buffer.from([0x9a, 0x09, 0x02, 0x08, 0x02])));
    const bad = run('convert', join(dir, 'in.prototxt'), out, '--out-dialect', 'bvlc');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /LayerParameter has no field 'upsample_param'/);
  });

  it('bad input: exit 1, a message with file:line:col, and no output file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'typo.prototxt'), 'name: "x"\nlayer {\n  name: "c"\n  tpye: "Convolution"\n}\n');
    const r = run('convert', join(dir, 'typo.prototxt'), join(dir, 'out.caffemodel'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /typo\.prototxt:4:3: unknown field 'tpye' in LayerParameter\n {2}hint: did you mean 'type'\?/);
    assert.doesNotMatch(r.stderr, /at .*\.js/);
    const cut = join(dir, 'cut.caffemodel');
    writeFileSync(cut, readFixture('binary', 'lenet_weights.caffemodel').subarray(0, 5000));
    const r2 = run('convert', cut, join(dir, 'out.prototxt'));
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /cut\.caffemodel: /);
    assert.deepEqual(readdirSync(dir).sort(), ['cut.caffemodel', 'typo.prototxt']);
  });

  it('--debug adds the stack trace', () => {
    const r = run('convert', '--debug', fixture('nets', 'missing.prototxt'), join(tempDir(), 'x.caffemodel'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read .*missing\.prototxt: no such file/);
    assert.match(r.stderr, /at .*files\.js/);
  });

  it('never overwrites its input unless --in-place', () => {
    const dir = tempDir();
    const path = join(dir, 'lenet.prototxt');
    copyFileSync(fixture('nets', 'lenet_train_test.prototxt'), path);
    const before = readFileSync(path);
    const r = run('convert', path, path);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is the input file/);
    assert.ok(readFileSync(path).equals(before));
    assert.equal(run('convert', path, path, '--in-place').code, 0);
    assert.equal(readFileSync(path, 'utf8'), readFixture('canonical', 'lenet_train_test.protoc.txt').toString('utf8'));
  });

  it('bad usage exits 2', () => {
    assert.equal(run('convert').code, 2);
    assert.equal(run('convert', fixture('nets', 'lenet.prototxt'), join(tempDir(), 'x.unknown')).code, 2);
    assert.equal(run('convert', fixture('nets', 'lenet.prototxt'), join(tempDir(), 'x.caffemodel'), '--dialect', 'caffe2').code, 2);
    assert.equal(run('nonsense').code, 2);
    const gpu = run('convert', '-gpu', 'all');
    assert.equal(gpu.code, 2);
    assert.match(gpu.stderr, /-gpu all is not supported/);
    assert.ok(!existsSync(join(tempDir(), 'x.caffemodel')));
  });
});
