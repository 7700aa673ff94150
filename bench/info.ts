// bench/info: `caffe-tool info --weights` on a VGG16-sized model (every blob's shape checked and every value
// linted), against a process that only reads the same file, both in fresh processes in the same run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCaffeFile } from '../src/io/files.js';
import { vgg16 } from './vgg16.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function time(args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-bench-info-'));
try {
  const model = join(dir, 'vgg16.prototxt');
  const weights = join(dir, 'vgg16.caffemodel');
  writeCaffeFile(model, { kind: 'net', dialect: 'bvlc', message: vgg16(false).net }, 'text');
  writeCaffeFile(weights, { kind: 'net', dialect: 'bvlc', message: vgg16(true).net }, 'binary');
  const size = statSync(weights).size;
  const read = time(['-e', `require('fs').readFileSync(${JSON.stringify(weights)})`], runs);
  const info = time([CLI, 'info', model, '--weights', weights], runs);
  console.log(`VGG16 caffemodel ${(size / 2 ** 20).toFixed(1)} MiB; median of ${runs} runs, each a fresh node process`);
  console.log(`  read the file alone            ${read.toFixed(0).padStart(6)} ms`);
  console.log(`  caffe-tool info --weights      ${info.toFixed(0).padStart(6)} ms`);
  console.log(`ratio info / read: ${(info / read).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
