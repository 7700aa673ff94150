// The GPU check of issues 5 and 8, for a machine with an NVIDIA GPU and ONNX Runtime's CUDA provider
// (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci): (1) ResNet-50 on random weights through the CUDA provider against the
// CPU output; (2) LeNet trained 50 iterations on the synthetic digits on cuda and on cpu, the losses side by side.
// Prints one line per check and exits 1 when a check fails.
//   npm run check:gpu [-- --device cuda:0]
import { cudaProviderInstalled, CUDA_INSTALL_HINT, createSession, parseDevice, runSession } from '../src/runtime/session.js';
import { exportOnnx } from '../src/convert/to-onnx.js';
import { loadNet } from '../src/net/load.js';
import { fillRandomWeights, seededUniform } from '../src/net/weights.js';
import { count } from '../src/layers/shape.js';
import { readSolverFile } from '../src/train/solver-file.js';
import { train } from '../src/train/solve.js';
import { TrainLog } from '../src/train/log.js';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const arg = process.argv.indexOf('--device');
const device = parseDevice(arg > 0 ? process.argv[arg + 1] : 'cuda');

async function resnet(): Promise<boolean> {
  const { net } = loadNet(join(ROOT, 'fixtures/nets/resnet50_deploy.prototxt'), { phase: 'TEST', inputs: { data: [2, 3, 224, 224] } });
  fillRandomWeights(net, 1);
  const model = exportOnnx(net).model;
  const next = seededUniform(3);
  const input = Float32Array.from({ length: count([2, 3, 224, 224]) }, () => next() * 2 - 1);
  const feeds = { [net.inputs()[0]?.name ?? 'data']: { data: input, dims: [2, 3, 224, 224] } };
  const cpu = await runSession(await createSession(model), feeds);
  const gpu = await runSession(await createSession(model, device), feeds);
  let worst = 0;
  for (const [name, t] of Object.entries(cpu)) {
    const g = gpu[name].data;
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - g[i]) / Math.max(1e-3, Math.abs(t.data[i])));
  }
  const ok = worst < 1e-3;
  console.log(`ResNet-50 batch 2, ${device.kind}:${'id' in device ? device.id : ''} against cpu: largest relative difference ${worst.toExponential(2)} ${ok ? 'OK' : 'FAIL (> 1e-3)'}`);
  return ok;
}

async function lenet(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-gpu-'));
  const text = readFileSync(join(ROOT, 'fixtures/solve/digits_lenet_solver.prototxt'), 'utf8')
    .replace(/^net: "(.*)"$/m, (_, n: string) => `net: "${join(ROOT, 'fixtures/solve', n)}"`)
    .replace(/^max_iter: \d+$/m, 'max_iter: 50').replace(/^snapshot: \d+$/m, 'snapshot: 0').replace(/^snapshot_prefix: .*$/m, `snapshot_prefix: "${join(dir, 'lenet')}"`)
    .concat('\nsnapshot_after_train: false\n');
  const path = join(dir, 'solver.prototxt');
  writeFileSync(path, text);
  const losses = async (d: typeof device | { kind: 'cpu' }) => {
    const lines: number[] = [];
    const log = new TrainLog({ quiet: false, tty: false, write: (l) => { const m = /Iteration \d+ \(.*loss = (\S+)/.exec(l); if (m) lines.push(Number(m[1])); } });
    await train(readSolverFile(path), { device: d, log });
    return lines;
  };
  const cpu = await losses({ kind: 'cpu' });
  const gpu = await losses(device);
  const worst = Math.max(...cpu.map((c, i) => Math.abs(c - gpu[i]) / Math.max(1e-6, Math.abs(c))));
  const ok = cpu.length === gpu.length && worst < 1e-2;
  console.log(`LeNet 50 iterations, losses cpu ${cpu.map((x) => x.toFixed(4)).join(' ')} | gpu ${gpu.map((x) => x.toFixed(4)).join(' ')}: largest relative difference ${worst.toExponential(2)} ${ok ? 'OK' : 'FAIL (> 1e-2)'}`);
  return ok;
}

if (device.kind !== 'cuda') throw new Error('check:gpu checks a CUDA device: --device cuda[:N]');
if (!cudaProviderInstalled()) {
  console.log(`the CUDA provider is not installed: ${CUDA_INSTALL_HINT}`);
  process.exit(1);
}
const results = [await resnet(), await lenet()];
process.exit(results.every(Boolean) ? 0 : 1);
