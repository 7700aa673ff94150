// export-triton through the real command line: the model folder Triton loads, and a model.onnx whose
// symbolic batch gives OpenCV's outputs for LeNet at batch 1 and 3.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readNpy } from '../../src/io/npy.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const LENET = fixture('onnx', 'net_lenet');
const caffeArgs = ['--model', join(LENET, 'net.prototxt'), '--weights', join(LENET, 'weights.caffemodel')];

/** Items `picks` of an [N, ...] array as one batch. */
function batchOf(a: { data: Float32Array; shape: number[] }, picks: number[]) {
  const per = a.data.length / a.shape[0];
  const data = new Float32Array(per * picks.length);
  picks.forEach((p, i) => data.set(a.data.subarray(p * per, (p + 1) * per), i * per));
  return { data, dims: [picks.length, ...a.shape.slice(1)] };
}

function closeTo(got: Float32Array, want: Float32Array, rtol = 1e-4, atol = 1e-5): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]), `value ${i}: ${got[i]} vs ${want[i]}`);
  }
}

describe('caffe-tool export-triton', () => {
  it('writes NAME/config.pbtxt and NAME/1/model.onnx with a batch Triton can grow', async () => {
    const repo = join(tempDir(), 'models');
    const r = run('export-triton', ...caffeArgs, '-o', repo, '--name', 'lenet', '--max-batch', '16', '--max-delay-ms', '0.5', '--instance-kind', 'cpu', '--instances', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /models\/lenet: config\.pbtxt and 1\/model\.onnx \(\d+ bytes\), max_batch_size 16\n {2}inputs: data \[1, 28, 28\]\n {2}outputs: prob \[10\]\n/);
    assert.deepEqual(readdirSync(repo), ['lenet']);
    assert.equal(readFileSync(join(repo, 'lenet', 'config.pbtxt'), 'utf8'), [
      'name: "lenet"', 'platform: "onnxruntime_onnx"', 'max_batch_size: 16',
      'input [', '  {', '    name: "data"', '    data_type: TYPE_FP32', '    dims: [ 1, 28, 28 ]', '  }', ']',
      'output [', '  {', '    name: "prob"', '    data_type: TYPE_FP32', '    dims: [ 10 ]', '  }', ']',
      'dynamic_batching {', '  max_queue_delay_microseconds: 500', '}',
      'instance_group [', '  {', '    count: 2', '    kind: KIND_CPU', '  }', ']', '',
    ].join('\n'));

    const session = await createSession(join(repo, 'lenet', '1', 'model.onnx'));
    const x = readNpy(readFileSync(join(LENET, 'input_data.npy')));
    const prob = readNpy(readFileSync(join(LENET, 'expected_prob.npy')));
    for (const picks of [[1], [0, 1, 0]]) {
      const out = await runSession(session, { data: batchOf(x, picks) });
      assert.deepEqual(out.prob.dims, [picks.length, 10]);
      closeTo(out.prob.data, batchOf(prob, picks).data);
    }
  });

  it('takes an ONNX file: a symbolic batch is batched, a fixed one gets max_batch_size 0 and a note', () => {
    const dir = tempDir();
    const dynamic = join(dir, 'dyn.onnx');
    const fixed = join(dir, 'fixed.onnx');
    assert.equal(run('to-onnx', ...caffeArgs, '-o', dynamic, '--dynamic-batch').code, 0);
    assert.equal(run('to-onnx', ...caffeArgs, '-o', fixed).code, 0);
    const repo = join(dir, 'repo');
    const a = run('export-triton', '--onnx', dynamic, '-o', repo);
    assert.equal(a.code, 0, a.stderr);
    assert.match(readFileSync(join(repo, 'dyn', 'config.pbtxt'), 'utf8'), /max_batch_size: 8\n[^]*dims: \[ 1, 28, 28 \][^]*dims: \[ 10 \][^]*dynamic_batching \{ \}/);
    assert.ok(readFileSync(join(repo, 'dyn', '1', 'model.onnx')).equals(readFileSync(dynamic)));
    const b = run('export-triton', '--onnx', fixed, '-o', repo);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /fixed batch \(data 2x1x28x28, prob 2x10\): max_batch_size 0/);
    const config = readFileSync(join(repo, 'fixed', 'config.pbtxt'), 'utf8');
    assert.match(config, /max_batch_size: 0\n[^]*dims: \[ 2, 1, 28, 28 \][^]*dims: \[ 2, 10 \]/);
    assert.doesNotMatch(config, /dynamic_batching/);
    assert.deepEqual(readdirSync(repo).sort(), ['dyn', 'fixed']);
  });

  it('refuses to replace a model without --force, and bad flags with exit code 2', () => {
    const dir = tempDir();
    const repo = join(dir, 'repo');
    assert.equal(run('export-triton', ...caffeArgs, '-o', repo, '--name', 'm').code, 0);
    const again = run('export-triton', ...caffeArgs, '-o', repo, '--name', 'm', '--max-batch', '4');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /repo\/m already exists\n {2}hint: add --force/);
    assert.match(readFileSync(join(repo, 'm', 'config.pbtxt'), 'utf8'), /max_batch_size: 8\n/);
    const forced = run('export-triton', ...caffeArgs, '-o', repo, '--name', 'm', '--max-batch', '4', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(join(repo, 'm', 'config.pbtxt'), 'utf8'), /max_batch_size: 4\n/);
    assert.deepEqual(readdirSync(dir), ['repo']);

    for (const [args, message] of [
      [['-o', join(dir, 'r2')], /needs --model and --weights, or --onnx/],
      [[...caffeArgs], /needs -o REPO/],
      [[...caffeArgs, '-o', join(dir, 'r2'), '--max-batch', 'lots'], /--max-batch takes a whole number/],
      [[...caffeArgs, '-o', join(dir, 'r2'), '--instance-kind', 'tpu'], /--instance-kind must be auto, cpu or gpu/],
      [[...caffeArgs, '-o', join(dir, 'r2'), '--name', '../up'], /cannot be a Triton model name/],
    ] as [string[], RegExp][]) {
      const r = run('export-triton', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(existsSync(join(dir, 'r2')), false);
  });
});
