// caffe-tool train and test through the real command line: LeNet on the synthetic digits of fixtures/data (LMDB and
// HDF5), interrupted with SIGINT and resumed from the snapshot to the same weights as an uninterrupted run, the
// snapshots read back by python3-protobuf, `caffe-tool test` on the result, a SegNet-like net on the tiny
// DenseImageData set with per-class IoU, and a DeepLab-like one on the same images through ImageSegData.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blobData } from '../../src/io/blob.js';
import { readCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { h5wasm } from '../../src/io/hdf5.js';
import { readHdf5Weights } from '../../src/train/snapshot-hdf5.js';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** The fixture solver with absolute paths: the net where it is, the snapshots in `dir`. */
function solverIn(dir: string, name: string, prefix: string): string {
  const text = readFileSync(fixture('solve', name), 'utf8')
    .replace(/^net: "(.*)"$/m, (_, net: string) => `net: "${fixture('solve', net)}"`)
    .replace(/^snapshot_prefix: ".*"$/m, `snapshot_prefix: "${join(dir, prefix)}"`);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function weights(path: string): Map<string, Float32Array[]> {
  const net = readCaffeFile(path, { kinds: ['net'] }).message;
  const out = new Map<string, Float32Array[]>();
  for (const l of (net.layer as Message[]) ?? []) {
    const blobs = (l.blobs as Message[] | undefined) ?? [];
    if (blobs.length) out.set(l.name as string, blobs.map((b) => blobData(b)));
  }
  return out;
}

const jsonLines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; iter: number; loss?: number; outputs: Record<string, number> });

describe('caffe-tool train: LeNet on the synthetic digits (LMDB)', () => {
  const dir = tempDir();
  const solver = solverIn(dir, 'digits_lenet_solver.prototxt', 'lenet');
  let first: ReturnType<typeof run>;

  it('trains 200 iterations to a test accuracy of at least 0.8 on 100 unseen digits, with Caffe\'s log lines and snapshots', () => {
    first = run('train', '-solver', solver, '--log-json', join(dir, 'log.json'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ solver\.cpp:\d+\] Iteration 20 \([\d.e+-]+ iter\/s, [\d.e+-]+s\/20 iters\), loss = [\d.e+-]+$/m);
    assert.match(first.stderr, /\] {5}Train net output #0: loss = [\d.e+-]+ \(\* 1 = [\d.e+-]+ loss\)$/m);
    assert.match(first.stderr, /\] Iteration 20, lr = 0\.00998503$/m);
    assert.match(first.stderr, /\] Iteration 100, Testing net \(#0\)$/m);
    assert.match(first.stderr, /Snapshotting to binary proto file .*lenet_iter_100\.caffemodel/);
    for (const iter of [100, 200]) {
      assert.ok(existsSync(join(dir, `lenet_iter_${iter}.caffemodel`)));
      assert.ok(existsSync(join(dir, `lenet_iter_${iter}.solverstate`)));
    }
    const log = jsonLines(join(dir, 'log.json'));
    const train = log.filter((e) => e.phase === 'train');
    assert.deepEqual(train.map((e) => e.iter), [0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);
    assert.ok(train.at(-1)!.loss! < train[0].loss! / 3, `loss ${train[0].loss} -> ${train.at(-1)!.loss}`);
    const tests = log.filter((e) => e.phase === 'test');
    assert.deepEqual(tests.map((e) => e.iter), [0, 100, 200]);
    assert.ok(tests.at(-1)!.outputs.accuracy >= 0.8, `accuracy ${tests.at(-1)!.outputs.accuracy}`);
  });

  it('test -iterations 4 on the final weights gives the accuracy the last test of training printed', () => {
    const r = run('test', '-model', fixture('solve', 'digits_lenet_train_test.prototxt'), '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-iterations', '4', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { outputs: Record<string, number> };
    const last = jsonLines(join(dir, 'log.json')).filter((e) => e.phase === 'test').at(-1)!;
    assert.ok(Math.abs(doc.outputs.accuracy - last.outputs.accuracy) < 1e-6);
    assert.ok(Math.abs(doc.outputs.loss - last.outputs.loss) < 1e-5);
  });

  it('test\'s "Loss:" is Net::Forward\'s loss: a loss top another layer reads counts too (caffe.cpp sums iter_loss)', () => {
    const plain = run('test', '-model', fixture('solve', 'digits_lenet_train_test.prototxt'), '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-iterations', '4', '--json');
    assert.equal(plain.code, 0, plain.stderr);
    const mean = (JSON.parse(plain.stdout) as { outputs: Record<string, number> }).outputs.loss;
    const text = readFileSync(fixture('solve', 'digits_lenet_train_test.prototxt'), 'utf8').replaceAll('"../data/', `"${fixture('data')}/`)
      + 'layer { name: "hide" type: "Silence" bottom: "loss" include { phase: TEST } }\n';
    const net = join(tempDir(), 'net.prototxt');
    writeFileSync(net, text);
    const r = run('test', '-model', net, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-iterations', '4');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Running for 4 iterations\./);
    const loss = Number(/Loss: (\S+)/.exec(r.stderr)![1]);
    assert.ok(Math.abs(loss - mean) <= 1e-5 * mean, `Loss: ${loss}, the loss output's mean ${mean}`);
    assert.doesNotMatch(r.stdout, /^loss = /m, 'the read loss top is no output');
  });

  it('test keeps the fillers of a layer the weights do not name, as Net::CopyTrainedLayersFrom does, with a note', () => {
    const text = readFileSync(fixture('solve', 'digits_lenet_train_test.prototxt'), 'utf8').replaceAll('"../data/', `"${fixture('data')}/`)
      + 'layer { name: "extra" type: "InnerProduct" bottom: "ip2" top: "extra" inner_product_param { num_output: 1 weight_filler { type: "constant" value: 0 } bias_filler { type: "constant" value: 2 } } include { phase: TEST } }\n';
    const net = join(tempDir(), 'net.prototxt');
    writeFileSync(net, text);
    const r = run('test', '-model', net, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-iterations', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /lenet_iter_200\.caffemodel has no blobs for extra: they keep their fillers/);
    // Weights 0 and bias 2 from the fillers: every value of the new output is 2.
    assert.deepEqual((JSON.parse(r.stdout) as { outputs: Record<string, number[]> }).outputs.extra, Array(25).fill(2));
  });

  it('test with the model and the weights swapped names the swap (exit 1)', () => {
    const r = run('test', '-model', join(dir, 'lenet_iter_200.caffemodel'), '-weights', fixture('solve', 'digits_lenet_train_test.prototxt'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /lenet_iter_200\.caffemodel: this is a binary file, but a text \.prototxt was expected here/);
    assert.match(r.stderr, /did you swap the model and the weights\?/);
  });

  it('test -stage and -level set the net state as caffe test does (stages added, the level set)', () => {
    const text = readFileSync(fixture('solve', 'digits_lenet_train_test.prototxt'), 'utf8').replaceAll('"../data/', `"${fixture('data')}/`)
      + 'layer { name: "staged" type: "Power" bottom: "ip2" top: "staged" include { phase: TEST stage: "extra" } }\n'
      + 'layer { name: "levelled" type: "Power" bottom: "ip2" top: "levelled" include { phase: TEST min_level: 1 } }\n';
    const net = join(tempDir(), 'net.prototxt');
    writeFileSync(net, text);
    const outputs = (...flags: string[]) => {
      const r = run('test', '-model', net, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-iterations', '1', '--json', ...flags);
      assert.equal(r.code, 0, r.stderr);
      return Object.keys((JSON.parse(r.stdout) as { outputs: Record<string, unknown> }).outputs).sort();
    };
    assert.deepEqual(outputs(), ['accuracy', 'loss']);
    assert.deepEqual(outputs('-stage', 'other,extra'), ['accuracy', 'loss', 'staged']);
    assert.deepEqual(outputs('-level', '1'), ['accuracy', 'levelled', 'loss']);
    assert.equal(run('test', '-model', net, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-level', '1.5').code, 2);
  });

  it('test prints a data top nothing reads (here the TEST net\'s label) as a net output, as caffe.cpp prints every output', () => {
    const text = readFileSync(fixture('solve', 'digits_lenet_train_test.prototxt'), 'utf8')
      .replaceAll('"../data/', `"${fixture('data')}/`)
      .replace(/layer \{\n  name: "accuracy"[\s\S]*?\n\}\n/, '')
      .replace(/(name: "loss"\n  type: "SoftmaxWithLoss"\n  bottom: "ip2"\n  bottom: "label"\n  top: "loss"\n)/, '$1  include { phase: TRAIN }\n');
    const net = join(tempDir(), 'net.prototxt');
    writeFileSync(net, text);
    const r = run('test', '-model', net, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '-iterations', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { outputs: Record<string, number[]> };
    assert.deepEqual(Object.keys(doc.outputs).sort(), ['ip2', 'label']);
    assert.match(r.stderr, /Batch 0, label = \d/);
  });

  it('test_compute_loss: true prints "Test loss:", the test net\'s summed loss averaged over test_iter, as Solver::Test does (and snapshot_diff warns)', () => {
    const dir2 = tempDir();
    const solver2 = solverIn(dir2, 'digits_lenet_solver.prototxt', 'lenet');
    writeFileSync(solver2, `${readFileSync(solver2, 'utf8')}test_compute_loss: true\nsnapshot_diff: true\n`);
    const r = run('train', '-solver', solver2, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '--iterations', '0');
    assert.equal(r.code, 0, r.stderr);
    const printed = /\] Test loss: ([\d.e+-]+)$/m.exec(r.stderr);
    const output = /\] {5}Test net output #\d+: loss = ([\d.e+-]+) /m.exec(r.stderr);
    assert.ok(printed && output, r.stderr);
    // snapshot_diff is read, and it is said that the diffs are not written.
    assert.match(r.stderr, /^W.*snapshot_diff is not written/m);
    // With loss_weight 1 and one loss top the two are the same average.
    assert.ok(Math.abs(Number(printed[1]) - Number(output[1])) <= 1e-5 * Number(output[1]), `${printed[1]} vs ${output[1]}`);
  });

  it('-weights copies the trained layers by name: 0 more iterations test exactly as the run that wrote them', () => {
    const dir2 = tempDir();
    const solver2 = solverIn(dir2, 'digits_lenet_solver.prototxt', 'lenet');
    const r = run('train', '-solver', solver2, '-weights', join(dir, 'lenet_iter_200.caffemodel'), '--iterations', '0', '--log-json', join(dir2, 'log.json'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Copied the weights of 4 layers from .*lenet_iter_200\.caffemodel: conv1, conv2, ip1, ip2$/m);
    assert.match(r.stderr, /Every learned layer was initialised from the weights$/m);
    const test = jsonLines(join(dir2, 'log.json')).filter((e) => e.phase === 'test')[0];
    const last = jsonLines(join(dir, 'log.json')).filter((e) => e.phase === 'test').at(-1)!;
    assert.equal(test.outputs.accuracy, last.outputs.accuracy);
  });

  it('stopped by SIGINT, it snapshots; resumed with -snapshot it ends on the uninterrupted run\'s weights exactly', async () => {
    const dir2 = tempDir();
    const solver2 = solverIn(dir2, 'digits_lenet_solver.prototxt', 'lenet');
    const child = spawn(process.execPath, [CLI, 'train', '-solver', solver2], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /Iteration 40, lr/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /Optimization stopped early\./);
    const stoppedAt = Number(/lenet_iter_(\d+)\.solverstate/.exec(stderr)![1]);
    assert.ok(stoppedAt > 40 && stoppedAt < 200, `stopped at ${stoppedAt}`);
    const resumed = run('train', '-solver', solver2, '-snapshot', join(dir2, `lenet_iter_${stoppedAt}.solverstate`));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`Resuming from .*lenet_iter_${stoppedAt}\\.solverstate`));
    const a = weights(join(dir, 'lenet_iter_200.caffemodel'));
    const b = weights(join(dir2, 'lenet_iter_200.caffemodel'));
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [name, blobs] of a) blobs.forEach((blob, i) => assert.deepEqual(b.get(name)![i], blob, `${name} blob ${i}`));
  });

  it('-weights with -snapshot is refused, as Caffe refuses it', () => {
    const r = run('train', '-solver', solver, '-weights', join(dir, 'lenet_iter_100.caffemodel'), '-snapshot', join(dir, 'lenet_iter_100.solverstate'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /-weights or -snapshot, not both/);
  });

  it('the snapshots read in python3-protobuf with caffe.proto: every layer, its blobs, the history in order', (t) => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import google.protobuf'], { encoding: 'utf8' });
    if (probe.status !== 0 || spawnSync('protoc', ['--version']).status !== 0) return t.skip('python3-protobuf or protoc missing (.ci/run installs them)');
    const r = spawnSync('/usr/bin/python3', [fixture('tools', 'read_snapshot.py'), join(dir, 'lenet_iter_200.caffemodel'), join(dir, 'lenet_iter_200.solverstate')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { model: { name: string; layers: { name: string; phase: string; blobs: number[][]; sums: number[] }[] }; state: { iter: number; learned_net: string; history: number[][] } };
    assert.equal(doc.model.name, 'LeNetSmall');
    const learned = doc.model.layers.filter((l) => l.blobs.length);
    assert.deepEqual(learned.map((l) => [l.name, l.blobs]), [
      ['conv1', [[8, 1, 5, 5], [8]]], ['conv2', [[16, 8, 5, 5], [16]]], ['ip1', [[64, 256], [64]]], ['ip2', [[10, 64], [10]]],
    ]);
    assert.ok(doc.model.layers.every((l) => l.phase === 'TRAIN'));
    const ours = weights(join(dir, 'lenet_iter_200.caffemodel'));
    for (const l of learned) l.sums.forEach((s, i) => assert.ok(Math.abs(s - ours.get(l.name)![i].reduce((x, y) => x + y, 0)) < 1e-3));
    assert.equal(doc.state.iter, 200);
    assert.equal(doc.state.learned_net, join(dir, 'lenet_iter_200.caffemodel'));
    assert.deepEqual(doc.state.history, [[8, 1, 5, 5], [8], [16, 8, 5, 5], [16], [64, 256], [64], [10, 64], [10]]);
  });
});

describe('caffe-tool train: the HDF5Data variant, with HDF5 snapshots', () => {
  it('trains 100 iterations, the loss falls, and a resume from the HDF5 snapshot at 50 ends on the same weights', async () => {
    const dir = tempDir();
    const solver = solverIn(dir, 'digits_lenet_hdf5_solver.prototxt', 'lenet_hdf5');
    const r = run('train', '-solver', solver, '--log-json', join(dir, 'log.json'));
    assert.equal(r.code, 0, r.stderr);
    const train = jsonLines(join(dir, 'log.json')).filter((e) => e.phase === 'train');
    assert.ok(train.at(-1)!.loss! < train[0].loss! / 2, `loss ${train[0].loss} -> ${train.at(-1)!.loss}`);
    for (const f of ['lenet_hdf5_iter_50.caffemodel.h5', 'lenet_hdf5_iter_50.solverstate.h5', 'lenet_hdf5_iter_100.caffemodel.h5']) assert.ok(existsSync(join(dir, f)), f);
    const dir2 = tempDir();
    const solver2 = solverIn(dir2, 'digits_lenet_hdf5_solver.prototxt', 'lenet_hdf5');
    const resumed = run('train', '-solver', solver2, '-snapshot', join(dir, 'lenet_hdf5_iter_50.solverstate.h5'));
    assert.equal(resumed.code, 0, resumed.stderr);
    const a = await readHdf5Weights(join(dir, 'lenet_hdf5_iter_100.caffemodel.h5'));
    const b = await readHdf5Weights(join(dir2, 'lenet_hdf5_iter_100.caffemodel.h5'));
    assert.deepEqual([...a.get('conv1')!.map((x) => x.shape)], [[8, 1, 5, 5], [8]]);
    for (const [name, blobs] of a) blobs.forEach((blob, i) => assert.deepEqual(b.get(name)![i].data, blob.data, `${name} blob ${i}`));
    // hdf5_save_int writes one-element arrays: h5py code reads f['iter'][0].
    const h5 = await h5wasm();
    const f = new h5.File(join(dir, 'lenet_hdf5_iter_50.solverstate.h5'), 'r');
    try {
      for (const name of ['iter', 'current_step']) assert.deepEqual((f.get(name) as { shape: number[] }).shape, [1], name);
      assert.deepEqual([...(f.get('iter') as { value: Int32Array }).value], [50]);
    } finally {
      f.close();
    }
  });
});

describe('caffe-tool train and test: a SegNet-like net on the tiny DenseImageData set', () => {
  it('trains with BN, max-unpool Upsample and class weighting; test prints per-class IoU', () => {
    const dir = tempDir();
    const solver = solverIn(dir, 'segnet_tiny_solver.prototxt', 'segnet_tiny');
    const r = run('train', '-solver', solver, '--log-json', join(dir, 'log.json'));
    assert.equal(r.code, 0, r.stderr);
    const train = jsonLines(join(dir, 'log.json')).filter((e) => e.phase === 'train');
    assert.ok(train.at(-1)!.loss! < train[0].loss!, `loss ${train[0].loss} -> ${train.at(-1)!.loss}`);
    const t = run('test', '-model', fixture('solve', 'segnet_tiny_train_test.prototxt'), '-weights', join(dir, 'segnet_tiny_iter_60.caffemodel'), '-iterations', '1', '--json');
    assert.equal(t.code, 0, t.stderr);
    const doc = JSON.parse(t.stdout) as { outputs: Record<string, number>; segmentation: { iou: (number | null)[]; meanIou: number; pixelAccuracy: number } };
    assert.equal(doc.segmentation.iou.length, 3);
    assert.ok(Math.abs(doc.segmentation.pixelAccuracy - doc.outputs.accuracy) < 1e-6, 'pixel accuracy is what the Accuracy layer computes');
    assert.ok(doc.segmentation.meanIou > 0);
  });
});

describe('caffe-tool train and test: a DeepLab-v2-like net (ImageSegData, Interp-shrunk label, SegAccuracy)', () => {
  it('trains 80 iterations: the loss falls, the test\'s pixel accuracy and mean IoU rise; test gives the last test\'s three measures', () => {
    const dir = tempDir();
    const solver = solverIn(dir, 'deeplab_tiny_solver.prototxt', 'deeplab_tiny');
    const r = run('train', '-solver', solver, '--log-json', join(dir, 'log.json'));
    assert.equal(r.code, 0, r.stderr);
    // SegAccuracy's top is [1, 1, 1, 3]: Caffe prints each value as its own output line.
    assert.match(r.stderr, /Train net output #0: accuracy = .*\n.*Train net output #1: accuracy = .*\n.*Train net output #2: accuracy = .*\n.*Train net output #3: loss = /);
    const events = jsonLines(join(dir, 'log.json')) as unknown as { phase: string; loss?: number; outputs: { accuracy: number[] } }[];
    const train = events.filter((e) => e.phase === 'train');
    assert.ok(train.at(-1)!.loss! < 0.6 * train[0].loss!, `loss ${train[0].loss} -> ${train.at(-1)!.loss}`);
    const tests = events.filter((e) => e.phase === 'test').map((e) => e.outputs.accuracy);
    assert.equal(tests.length, 2);
    const [before, after] = tests;
    assert.ok(after[0] > before[0] + 0.05 && after[2] > before[2], `pixel accuracy ${before[0]} -> ${after[0]}, mean IoU ${before[2]} -> ${after[2]}`);
    const t = run('test', '-model', fixture('solve', 'deeplab_tiny_train_test.prototxt'), '-weights', join(dir, 'deeplab_tiny_iter_80.caffemodel'), '-iterations', '1', '--json');
    assert.equal(t.code, 0, t.stderr);
    const doc = JSON.parse(t.stdout) as { outputs: { accuracy: number[] } };
    doc.outputs.accuracy.forEach((v, i) => assert.ok(Math.abs(v - after[i]) < 1e-6, `measure ${i}: ${v} against ${after[i]}`));
  });
});

describe('caffe-tool time --layers', () => {
  it('gives each layer\'s forward and backward time, which add up to about the step', () => {
    const r = run('time', '--model', fixture('solve', 'digits_lenet_train_test.prototxt'), '--backward', '--layers', '--shape', 'data=8,1,28,28', 'label=8', '--iterations', '3', '--warmup', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { meanMs: number; layerTimes: { layers: { layer: string; forwardMs: number; backwardMs: number }[]; otherMs: number } };
    const byName = new Map(doc.layerTimes.layers.map((l) => [l.layer, l]));
    for (const name of ['conv1', 'conv2', 'ip1', 'ip2']) {
      const l = byName.get(name)!;
      assert.ok(l.forwardMs > 0 && l.backwardMs > 0, `${name}: ${JSON.stringify(l)}`);
    }
    // The table comes from a profiled session of its own, slower per node than the timed one: only roughly the step.
    const sum = doc.layerTimes.otherMs + doc.layerTimes.layers.reduce((a, l) => a + l.forwardMs + l.backwardMs, 0);
    assert.ok(sum > 0 && sum <= doc.meanMs * 3, `layers ${sum} ms, step ${doc.meanMs} ms`);
    const text = run('time', '--model', fixture('solve', 'digits_lenet_train_test.prototxt'), '--backward', '--layers', '--shape', 'data=8,1,28,28', 'label=8', '--iterations', '2', '--warmup', '0');
    assert.match(text.stdout, /Average time per layer[^\n]*\n[\s\S]*\n {5}conv1\tforward: [\d.]+ ms\.\n {5}conv1\tbackward: [\d.]+ ms\./);
  });

  it('is refused for an ONNX file, whose nodes name no layers (exit 2)', () => {
    const r = run('time', '--onnx', 'whatever.onnx', '--layers');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--layers names the layers of a Caffe net: give --model/);
  });
});

describe('caffe-tool time --backward', () => {
  it('times the TRAIN net\'s forward and backward on a synthetic batch', () => {
    const r = run('time', '--model', fixture('solve', 'digits_lenet_train_test.prototxt'), '--backward', '--shape', 'data=8,1,28,28', 'label=8', '--iterations', '3', '--warmup', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { batch: number; iterations: number; meanMs: number; iterationsPerSecond: number };
    assert.equal(doc.batch, 8);
    assert.equal(doc.iterations, 3);
    assert.ok(doc.meanMs > 0 && Math.abs(doc.iterationsPerSecond - 1000 / doc.meanMs) < 1e-9);
  });

  it('times a train_val net with its LMDB Data layers at their own batch sizes (TEST 25 forward, TRAIN 30 with --backward)', () => {
    for (const [flags, batch] of [[[], 25], [['--backward'], 30]] as const) {
      const r = run('time', '--model', fixture('solve', 'digits_lenet_train_test.prototxt'), ...flags, '--iterations', '2', '--warmup', '1', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { batch: number }).batch, batch);
    }
    // A database that is not there: a note, then the shapes are asked for.
    const missing = run('time', '--model', fixture('nets', 'lenet_train_test.prototxt'), '--iterations', '1');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /the data layers' shapes could not be read from their sources \(cannot open the LMDB/);
    assert.match(missing.stderr, /--shape NAME=N,C,H,W/);
  });

  it('refuses an ONNX model: there is no training graph without the Caffe net', () => {
    const r = run('time', '--onnx', 'x.onnx', '--backward');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--backward times a Caffe net/);
  });
});

describe('caffe-tool train: training health', () => {
  /** The digits LeNet with its net text changed by `edit`, and the solver's settings replaced. */
  function variant(dir: string, edit: (net: string) => string, solver: Record<string, string>): string {
    const net = join(dir, 'net.prototxt');
    writeFileSync(net, edit(readFileSync(fixture('solve', 'digits_lenet_train_test.prototxt'), 'utf8')).replaceAll('"../data/', `"${fixture('data')}/`));
    let text = readFileSync(fixture('solve', 'digits_lenet_solver.prototxt'), 'utf8')
      .replace(/^net: ".*"$/m, `net: "${net}"`).replace(/^snapshot_prefix: ".*"$/m, `snapshot_prefix: "${join(dir, 'run')}"`);
    for (const [k, v] of Object.entries(solver)) text = text.replace(new RegExp(`^${k}: .*$`, 'm'), `${k}: ${v}`);
    const path = join(dir, 'solver.prototxt');
    writeFileSync(path, text);
    return path;
  }

  it('--monitor reports dead units per ReLU and warns, naming the layer, when all of them die', () => {
    const dir = tempDir();
    // A bias of -100 on ip1 kills every unit of relu1 from the start.
    const solver = variant(dir, (t) => t.replace(/(name: "ip1"[\s\S]*?bias_filler \{ type: "constant")/, '$1 value: -100'), { max_iter: '40', test_interval: '1000', snapshot: '0' });
    const r = run('train', '-solver', solver, '--monitor', '--log-json', join(dir, 'log.json'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\] {5}relu1: dead units 100\.0%, activation rms 0$/m);
    assert.match(r.stderr, /\] {5}conv1\/0: weight norm [\d.e+-]+, \|grad\|\/\|weight\| [\d.e+-]+$/m);
    assert.match(r.stderr, /^W\d{4} .*monitor\] Iteration 0: layer 'relu1': all its units output 0 over the last window \(dead ReLU\)$/m);
    const monitor = readFileSync(join(dir, 'log.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.phase === 'monitor');
    assert.deepEqual(monitor.map((e) => e.iter), [0, 20]);
    assert.deepEqual(monitor[0].layers, [{ layer: 'relu1', dead: 1, rms: 0 }]);
  });

  it('refuses, before training, a snapshot prefix it cannot write and an average_loss below 1, as Solver::Init does', () => {
    const dir = tempDir();
    const r = run('train', '-solver', variant(dir, (t) => t, { snapshot_prefix: `"${join(dir, 'missing', 'run')}"`, max_iter: '5' }));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`Cannot write to snapshot prefix '${join(dir, 'missing', 'run')}'\\.  Make sure that the directory exists and is writeable\\.`));
    assert.doesNotMatch(r.stderr, /Iteration 0/);
    const a = run('train', '-solver', variant(tempDir(), (t) => t, { power: '0.75\naverage_loss: 0', max_iter: '5' }));
    assert.equal(a.code, 1, a.stderr);
    assert.match(a.stderr, /average_loss should be non-negative\./);
  });

  it('SIGINT during a test interrupts it and stops the run before training on, snapshotting the iteration tested', async () => {
    const dir = tempDir();
    // A test of 5000 batches at iteration 40: long enough for the signal to land inside it.
    const solver = variant(dir, (t) => t, { test_iter: '5000', test_interval: '40', max_iter: '100', snapshot: '0', power: '0.75\ntest_initialization: false' });
    const child = spawn(process.execPath, [CLI, 'train', '-solver', solver], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /Iteration 40, Testing net/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /Iteration 40, Testing net \(#0\)[\s\S]*Test interrupted\.[\s\S]*run_iter_40\.caffemodel[\s\S]*Optimization stopped early\./);
    assert.doesNotMatch(stderr, /Iteration 40 \(|Test net output/, 'no training at 40 and no test scores');
    assert.ok(existsSync(join(dir, 'run_iter_40.solverstate')));
  });

  it('logs each gradient clipping and each multistep move where Caffe logs them', () => {
    const dir = tempDir();
    const solver = variant(dir, (t) => t, {
      lr_policy: '"multistep"', gamma: '0.5', power: '0.75\nstepvalue: 3\nclip_gradients: 0.001', display: '1', max_iter: '5', test_interval: '1000', snapshot: '0',
    });
    const r = run('train', '-solver', solver);
    assert.equal(r.code, 0, r.stderr);
    // Display lines, then GetLearningRate's step, then the lr line, then ClipGradients (sgd_solver.cpp's order).
    const at = (text: string, from = 0) => r.stderr.indexOf(text, from);
    const moved = at('MultiStep Status: Iteration 3, step = 1');
    assert.ok(at('Iteration 3 (') < moved && moved < at('Iteration 3, lr = 0.005') && at('Iteration 3, lr = 0.005') < at('Gradient clipping', moved), r.stderr);
    assert.equal(r.stderr.match(/MultiStep Status/g)?.length, 1);
    const clips = [...r.stderr.matchAll(/Gradient clipping: scaling down gradients \(L2 norm (\S+) > 0\.001\) by scale factor (\S+)/g)];
    assert.equal(clips.length, 5, 'every iteration clips at 0.001');
    for (const [, norm, scale] of clips) assert.ok(Math.abs(Number(scale) - 0.001 / Number(norm)) <= 1e-5 * Number(scale), `${scale} for norm ${norm}`);
  });

  it('a loss that turns NaN stops the run, names the iteration and the first layer that produced it, and snapshots', () => {
    const dir = tempDir();
    const solver = variant(dir, (t) => t, { base_lr: '1e30', max_iter: '50', test_interval: '1000', snapshot: '0', lr_policy: '"fixed"' });
    const r = run('train', '-solver', solver);
    assert.equal(r.code, 1, r.stderr);
    const m = /caffe-tool: layer '(\w+)': the loss is (NaN|Infinity|-Infinity) at iteration (\d+): layer '\1' \((Convolution|Pooling|InnerProduct|ReLU|Dropout|SoftmaxWithLoss)\) is the first to output (NaN|Infinity|-Infinity)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const iter = Number(m[3]);
    assert.ok(iter >= 1 && iter < 50);
    assert.ok(existsSync(join(dir, `run_iter_${iter}.caffemodel`)), 'the weights before the bad iteration are kept');
  });
});
