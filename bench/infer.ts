// bench/infer: inference speed of caffe-tool's runtime (ONNX Runtime on caffe-tool's export of a Caffe net) on
// ResNet-50, MobileNet v1 and a small SegNet at batch 1 and 8, side by side in one run with (a) OpenCV's Caffe
// importer (cv2.dnn) on the same prototxt and .caffemodel and (b) ONNX Runtime on the same architecture built
// in PyTorch and exported by torch.onnx.export (opset 17, bench/torch_models.py). Also times getting from the
// files to a ready session: .caffemodel -> (read, build the net, export, create the session) against creating
// the session from the PyTorch .onnx. The caffe-tool side takes the path `caffe-tool run` takes
// (runtime/model.ts): exportOnnx forSession, the weights handed to ONNX Runtime as external data in memory.
// Weights are random on every side (fillRandomWeights seed 1 for Caffe, torch's init for PyTorch): only speed
// is compared, and the shapes and parameter counts are checked equal.
//   npm run bench:infer [-- --nets resnet50,mobilenet,segnet] [--batches 1,8] [--keep]
// Needs /usr/bin/python3 with torch and cv2 (Debian's python3-torch and python3-opencv).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { exportOnnx, type OnnxExport } from '../src/convert/to-onnx.js';
import { writeCaffeFile } from '../src/io/files.js';
import { readNpy } from '../src/io/npy.js';
import { poolGeometry } from '../src/layers/pooling.js';
import { loadNet, loadWeights } from '../src/net/load.js';
import type { Net } from '../src/net/net.js';
import { fillRandomWeights } from '../src/net/weights.js';
import { nchwcBlockSize } from '../src/runtime/nchwc.js';
import { createSession, runSession } from '../src/runtime/session.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = process.env.CAFFE_TOOL_PYTHON ?? '/usr/bin/python3';
const WARMUP = 3;
const ITERS: Record<number, number> = { 1: 30, 8: 12 };
const READY_RUNS = 15;

interface NetCase {
  key: string;
  label: string;
  prototxt: string;
  shape: number[];
}

const NETS: NetCase[] = [
  { key: 'resnet50', label: 'ResNet-50', prototxt: 'fixtures/nets/resnet50_deploy.prototxt', shape: [3, 224, 224] },
  { key: 'mobilenet', label: 'MobileNet v1', prototxt: 'fixtures/nets/mobilenet_deploy.prototxt', shape: [3, 224, 224] },
  { key: 'segnet', label: 'SegNet-small', prototxt: 'bench/segnet_small.prototxt', shape: [3, 128, 128] },
];

interface TorchInfo {
  output: string;
  output_shape: number[];
  learned: number;
  statistics: number;
  modules: Record<string, number>;
}

interface OpenCvResult {
  ms_median?: number;
  ms_mean?: number;
  ms_min?: number;
  ms_max?: number;
  load_ms?: number;
  output_shape?: number[];
  opencv?: string;
  error?: string;
}

interface Row {
  net: string;
  batch: number;
  caffeMs: number;
  torchMs: number;
  cvMs?: number;
  caffeReady: number;
  torchReady: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function python(args: string[]): string {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1];
}

/** x[i] = ((i * 7919) % 1000) / 500 - 1, the input of test/convert/onnx-nets.test.ts and bench/opencv_time.py. */
function formulaInput(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1000) / 500 - 1;
  return x;
}

/** The Caffe net's blob counts in torch's terms, and its layer counts mapped to torch module names. */
function caffeCounts(net: Net) {
  let learned = 0;
  let statistics = 0;
  let scaleFactors = 0;
  const modules: Record<string, number> = {};
  const add = (k: string) => (modules[k] = (modules[k] ?? 0) + 1);
  for (const l of net.layers) {
    for (const b of l.learned ?? []) {
      const n = b.shape.reduce((a, x) => a * x, 1);
      if (b.role === 'mean' || b.role === 'variance') statistics += n;
      else if (b.role === 'scale_factor') scaleFactors += n;
      else learned += n;
    }
    const module = ({ Convolution: 'Conv2d', BatchNorm: 'BatchNorm2d', ReLU: 'ReLU', InnerProduct: 'Linear', Upsample: 'MaxUnpool2d' } as Record<string, string>)[l.type];
    if (module) add(module);
    if (l.type === 'Pooling') {
      const g = poolGeometry(net.params(l, 'pooling_param'), l.bottoms[0].shape!);
      add(g.method === 'MAX' ? 'MaxPool2d' : g.global ? 'AdaptiveAvgPool2d' : 'AvgPool2d');
    }
  }
  const scales = net.layers.filter((l) => l.type === 'Scale').length;
  return { learned, statistics, scaleFactors, modules, scales };
}

/** ONNX node counts by op type (ONNX Runtime's own ops with their domain). */
function opCounts(bytes: Uint8Array): string {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const counts = new Map<string, number>();
  for (const n of model.graph?.node ?? []) {
    const op = n.domain ? `${n.opType}(${n.domain.replace('com.microsoft', 'ms')})` : n.opType!;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return `${total} nodes: ${[...counts].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(', ')}`;
}

/** The graph ONNX Runtime runs: the model after the optimizations createSession asks for (level 'all'). */
async function optimizedCounts(model: OnnxExport | string, out: string): Promise<string> {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 3, optimizedModelFilePath: out };
  const s = typeof model === 'string'
    ? await ort.InferenceSession.create(model, options)
    : await ort.InferenceSession.create(model.model, { ...options, ...(model.externalData ? { externalData: model.externalData } : {}) });
  await s.release();
  return opCounts(readFileSync(out));
}

const fmtMs = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;
const fmtIps = (batch: number, ms: number) => `${((batch * 1000) / ms).toFixed(1).padStart(7)} img/s`;

async function benchNet(c: NetCase, batches: number[], dir: string, rows: Row[]): Promise<void> {
  const prototxt = join(ROOT, c.prototxt);
  const caffemodel = join(dir, `${c.key}.caffemodel`);
  let checkedCounts = false;
  for (const batch of batches) {
    const shape = [batch, ...c.shape];
    const inputs = { data: shape };
    // The weights: fillRandomWeights seed 1, written as a .caffemodel (as fixtures/tools/random-weights.ts does).
    const { net } = loadNet(prototxt, { inputs });
    fillRandomWeights(net, 1);
    const layer = net.layers.filter((l) => l.weights).map((l) => ({ name: l.name, type: l.type, blobs: l.weights }));
    writeCaffeFile(caffemodel, { kind: 'net', dialect: net.dialect, message: { name: net.name, layer } }, 'binary');

    // The PyTorch baseline's .onnx (not timed).
    const torchOnnx = join(dir, `${c.key}_b${batch}_torch.onnx`);
    const t = performance.now();
    const torch = JSON.parse(python(['bench/torch_models.py', c.key, String(batch), torchOnnx])) as TorchInfo;
    const exportS = (performance.now() - t) / 1000;
    const caffeOut = net.blobs().get(torch.output)!.shape!;

    console.log(`\n${c.label}  batch ${batch}  (input ${shape.join('x')}; ${c.prototxt})`);
    if (!checkedCounts) {
      checkedCounts = true;
      const cc = caffeCounts(net);
      const same = (a: number, b: number) => (a === b ? 'equal' : `DIFFERENT (${a - b > 0 ? '+' : ''}${a - b})`);
      console.log(`  parameters  Caffe conv/fc/Scale blobs ${cc.learned.toLocaleString('en')}, torch parameters ${torch.learned.toLocaleString('en')}: ${same(cc.learned, torch.learned)}`);
      console.log(`              Caffe BatchNorm mean+variance ${cc.statistics.toLocaleString('en')}, torch running_mean+running_var ${torch.statistics.toLocaleString('en')}: ${same(cc.statistics, torch.statistics)}`);
      console.log(`              Caffe BatchNorm scale factors ${cc.scaleFactors} (1 float per BatchNorm layer; no torch counterpart)`);
      const keys = [...new Set([...Object.keys(cc.modules), ...Object.keys(torch.modules)])].sort();
      const diff = keys.filter((k) => cc.modules[k] !== torch.modules[k]);
      console.log(`  layers      ${keys.map((k) => `${k} ${cc.modules[k] ?? 0}/${torch.modules[k] ?? 0}`).join(', ')} (Caffe/torch; Caffe Scale layers: ${cc.scales}, folded in torch's BatchNorm2d): ${diff.length ? `DIFFERENT: ${diff.join(', ')}` : 'equal'}`);
    }
    console.log(`  output      ${torch.output}: Caffe ${caffeOut.join('x')}, torch ${torch.output_shape.join('x')}${caffeOut.join('x') === torch.output_shape.join('x') ? '' : '  SHAPES DIFFER'}`);

    // (i) files -> ready session, alternating the two sides; the first pair warms up and is not counted. The
    // NCHWc block size is asked once per process, as `caffe-tool run` asks it (its cost is printed in main).
    const nchwcBlock = await nchwcBlockSize();
    const caffeReady: number[] = [];
    const torchReady: number[] = [];
    const parts = { load: [] as number[], export: [] as number[], session: [] as number[] };
    let caffeSession: ort.InferenceSession | undefined;
    let torchSession: ort.InferenceSession | undefined;
    let caffeModel: OnnxExport | undefined;
    for (let r = 0; r <= READY_RUNS; r++) {
      const order = r % 2 ? ['torch', 'caffe'] : ['caffe', 'torch'];
      for (const side of order) {
        if (side === 'caffe') {
          await caffeSession?.release();
          const t0 = performance.now();
          const loaded = loadNet(prototxt, { inputs }).net;
          loadWeights(loaded, caffemodel);
          const t1 = performance.now();
          // As runtime/model.ts does for `caffe-tool run` and `time`: the weights go to ONNX Runtime as external data.
          caffeModel = exportOnnx(loaded, { forSession: true, nchwcBlock });
          const t2 = performance.now();
          caffeSession = await createSession(caffeModel.model, undefined, caffeModel.externalData);
          const t3 = performance.now();
          if (r > 0) {
            caffeReady.push(t3 - t0);
            parts.load.push(t1 - t0);
            parts.export.push(t2 - t1);
            parts.session.push(t3 - t2);
          }
        } else {
          await torchSession?.release();
          const t0 = performance.now();
          torchSession = await createSession(torchOnnx);
          if (r > 0) torchReady.push(performance.now() - t0);
        }
      }
    }
    if (!caffeSession || !torchSession || !caffeModel) throw new Error('no session');
    console.log(`  onnx        as written: caffe-tool ${opCounts(caffeModel.model)}`);
    console.log(`                          torch      ${opCounts(readFileSync(torchOnnx))}  (torch export took ${exportS.toFixed(1)} s, not timed)`);
    if (batch === batches[0]) {
      console.log(`              as ONNX Runtime runs them: caffe-tool ${await optimizedCounts(caffeModel, join(dir, 'optimized_caffe.onnx'))}`);
      console.log(`                                         torch      ${await optimizedCounts(torchOnnx, join(dir, 'optimized_torch.onnx'))}`);
    }

    // (ii) and (iii): forwards on the same input, the order of the two sides alternating run by run.
    const x = formulaInput(shape.reduce((a, b) => a * b, 1));
    const iters = ITERS[batch] ?? 10;
    const caffeTimes: number[] = [];
    const torchTimes: number[] = [];
    let caffeY: Float32Array | undefined;
    for (let k = 0; k < WARMUP + iters; k++) {
      for (const side of k % 2 ? ['torch', 'caffe'] : ['caffe', 'torch']) {
        const session = side === 'caffe' ? caffeSession : torchSession;
        const t0 = performance.now();
        const out = await runSession(session, { data: { data: x, dims: shape } });
        const ms = performance.now() - t0;
        if (k < WARMUP) continue;
        if (side === 'caffe') {
          caffeTimes.push(ms);
          caffeY = out[torch.output]?.data;
        } else torchTimes.push(ms);
      }
    }
    await caffeSession.release();
    await torchSession.release();

    // (iv) OpenCV, in its own process, after the ORT runs.
    const cvNpy = join(dir, `${c.key}_b${batch}_opencv.npy`);
    const cv = JSON.parse(python(['bench/opencv_time.py', prototxt, caffemodel, 'data', shape.join(','), String(WARMUP), String(iters), cvNpy])) as OpenCvResult;

    const row: Row = {
      net: c.label, batch, caffeMs: median(caffeTimes), torchMs: median(torchTimes), cvMs: cv.ms_median,
      caffeReady: median(caffeReady), torchReady: median(torchReady),
    };
    rows.push(row);
    const spread = (xs: number[]) => `min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;
    console.log(`  forward     median of ${iters} after ${WARMUP} warm-up runs, caffe-tool and torch alternating run by run`);
    console.log(`    caffe-tool (ORT on caffe-tool's export)    ${fmtMs(row.caffeMs)}  ${fmtIps(batch, row.caffeMs)}   (${spread(caffeTimes)})`);
    console.log(`    ORT on torch.onnx.export (opset 17)        ${fmtMs(row.torchMs)}  ${fmtIps(batch, row.torchMs)}   (${spread(torchTimes)})`);
    if (cv.ms_median !== undefined) {
      console.log(`    OpenCV ${cv.opencv} cv2.dnn Caffe importer        ${fmtMs(cv.ms_median)}  ${fmtIps(batch, cv.ms_median)}   (min ${cv.ms_min!.toFixed(1)}, max ${cv.ms_max!.toFixed(1)}; readNetFromCaffe ${cv.load_ms!.toFixed(0)} ms)`);
      if (caffeY) {
        const ref = readNpy(readFileSync(cvNpy));
        const y = ref.data as Float32Array;
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < y.length; i++) {
          diff = Math.max(diff, Math.abs(y[i] - caffeY[i]));
          scale = Math.max(scale, Math.abs(y[i]));
        }
        console.log(`    same weights, same input: caffe-tool vs OpenCV output max |diff| ${diff.toExponential(2)} (max |y| ${scale.toFixed(3)})${y.length === caffeY.length ? '' : '  SIZES DIFFER'}`);
      }
    } else {
      console.log(`    OpenCV cv2.dnn Caffe importer                      n/a   (${cv.error})`);
    }
    console.log(`  ready       median of ${READY_RUNS} after 1 warm-up`);
    console.log(`    caffe-tool .caffemodel -> session          ${fmtMs(row.caffeReady)}   (loadNet + loadWeights ${median(parts.load).toFixed(0)} ms, exportOnnx ${median(parts.export).toFixed(0)} ms, createSession ${median(parts.session).toFixed(0)} ms; fastest ${Math.min(...caffeReady).toFixed(1)})`);
    console.log(`    torch .onnx file -> session                ${fmtMs(row.torchReady)}   (fastest ${Math.min(...torchReady).toFixed(1)})`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const keys = opt('--nets')?.split(',') ?? NETS.map((n) => n.key);
  const batches = opt('--batches')?.split(',').map(Number) ?? [1, 8];
  const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-bench-infer-'));
  const started = performance.now();
  const versions = JSON.parse(python(['-c', 'import json, cv2, torch; print(json.dumps([cv2.__version__, torch.__version__]))'])) as string[];
  console.log(`bench/infer: ONNX Runtime ${ort.env.versions.common} (node ${process.versions.node}, CPU, ${cpus().length} cores, default threads), OpenCV ${versions[0]} (2 threads), torch ${versions[1]}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`weights: random on every side (caffe-tool fillRandomWeights seed 1; torch default init); images/s = batch / median forward time`);
  const probeStart = performance.now();
  const block = await nchwcBlockSize();
  console.log(`NCHWc block size ${block ?? 'none (plain convolutions)'}, asked once per process: ${(performance.now() - probeStart).toFixed(0)} ms`);
  const rows: Row[] = [];
  try {
    for (const c of NETS.filter((n) => keys.includes(n.key))) await benchNet(c, batches, dir, rows);
  } finally {
    if (args.includes('--keep')) console.log(`\nfiles kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nratios (images/s of caffe-tool over the baseline: above 1 is faster; ready: time over time, below 1 is faster)');
  console.log(`  ${'net'.padEnd(14)} batch   caffe-tool/torch-export (>= 0.90)   caffe-tool/OpenCV   ready caffe-tool/torch (<= 2x)`);
  let missed = 0;
  for (const r of rows) {
    const vsTorch = r.torchMs / r.caffeMs;
    const vsCv = r.cvMs === undefined ? undefined : r.cvMs / r.caffeMs;
    const ready = r.caffeReady / r.torchReady;
    missed += Number(vsTorch < 0.9) + Number(ready > 2);
    console.log(`  ${r.net.padEnd(14)} ${String(r.batch).padStart(5)}   ${vsTorch.toFixed(2).padStart(6)}x ${(vsTorch >= 0.9 ? 'met' : 'MISSED').padEnd(24)}   ${(vsCv === undefined ? 'n/a' : `${vsCv.toFixed(2)}x`).padStart(10)}          ${ready.toFixed(2).padStart(6)}x ${ready <= 2 ? 'met' : 'MISSED'}`);
  }
  console.log(`targets: ${missed ? `${missed} MISSED` : 'all met'}; whole bench ${((performance.now() - started) / 1000).toFixed(0)} s; load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

await main();
