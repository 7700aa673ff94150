// bench/absorb: absorb-bn on a ResNet-50-sized model (fixtures/nets/resnet50_deploy.prototxt with random
// weights written to a temporary caffemodel), against reading and writing the same files alone, in one process.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaffeFile, writeCaffeFile } from '../src/io/files.js';
import type { Message } from '../src/io/message.js';
import { loadNet, loadWeights } from '../src/net/load.js';
import { fillRandomWeights } from '../src/net/weights.js';
import { absorbBatchNorm } from '../src/surgery/absorb-bn.js';

const MODEL = fileURLToPath(new URL('../../fixtures/nets/resnet50_deploy.prototxt', import.meta.url));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;

function median(f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-bench-absorb-'));
try {
  const weights = join(dir, 'resnet50.caffemodel');
  const { net, param } = loadNet(MODEL, { phase: 'TEST' });
  fillRandomWeights(net);
  const byMessage = new Map(net.layers.map((l) => [l.layer, l]));
  const layer = (param.layer as Message[]).map((m) => {
    const w = byMessage.get(m)?.weights;
    return w ? { ...m, blobs: w } : m;
  });
  writeCaffeFile(weights, { kind: 'net', dialect: net.dialect, message: { ...param, layer } }, 'binary');
  const [outModel, outWeights] = [join(dir, 'out.prototxt'), join(dir, 'out.caffemodel')];

  let folded = 0;
  const io = median(() => {
    const m = readCaffeFile(MODEL, { kinds: ['net'] });
    const w = readCaffeFile(weights, { kinds: ['net'] });
    writeCaffeFile(outModel, m, 'text');
    writeCaffeFile(outWeights, w, 'binary');
  });
  const absorb = median(() => {
    const loaded = loadNet(MODEL, { phase: 'TEST' });
    loadWeights(loaded.net, weights);
    const r = absorbBatchNorm(loaded.net, loaded.param);
    folded = r.entries.filter((e) => e.action === 'folded').length;
    writeCaffeFile(outModel, { kind: 'net', dialect: loaded.net.dialect, message: r.definition }, 'text');
    writeCaffeFile(outWeights, { kind: 'net', dialect: loaded.net.dialect, message: r.weights }, 'binary');
  });
  console.log(`ResNet-50 caffemodel ${(statSync(weights).size / 2 ** 20).toFixed(1)} MiB, ${folded} BatchNorm+Scale pairs folded; median of ${runs} runs, one process`);
  console.log(`  read + write the files alone   ${io.toFixed(0).padStart(6)} ms`);
  console.log(`  absorb-bn (load, fold, write)  ${absorb.toFixed(0).padStart(6)} ms`);
  console.log(`ratio absorb-bn / read+write: ${(absorb / io).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
