// bench/train: training iterations/s of caffe-tool's engine (ONNX Runtime forward + backward, Caffe's SGD beside
// it) against PyTorch on the CPU, the same nets side by side in one run: LeNet at batch 64, and a SegNet-like
// encoder-decoder (conv3x3 + BatchNorm (batch statistics) + Scale + ReLU, max pooling with masks, max-unpool
// Upsample, class-weighted SoftmaxWithLoss) at 3x360x480, batch 4. Synthetic data on both sides (uniform in
// [-1, 1), labels (i * 7919) mod C); weights from each side's own initialisation: only speed is compared.
//   npm run bench:train [-- --nets lenet,segnet] [--iters N] [--prototxt]   (--prototxt: print the nets, train nothing)
// Needs /usr/bin/python3 with torch (Debian's python3-torch).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseCaffeText } from '../src/io/files.js';
import { buildNet } from '../src/net/net.js';
import { TrainingEngine } from '../src/train/engine.js';
import { initialValues } from '../src/train/init.js';
import { netParams } from '../src/train/params.js';
import { Solver, sgdInGraph } from '../src/train/solver.js';
import { syntheticBatch } from '../src/train/synthetic.js';

const PYTHON = process.env.CAFFE_TOOL_PYTHON ?? '/usr/bin/python3';
const TORCH = fileURLToPath(new URL('../../bench/train_torch.py', import.meta.url));
const CLASS_WEIGHTS = [0.2595, 0.1826, 4.564, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614];

const input = (name: string, dims: number[]) => `layer { name: "${name}" type: "Input" top: "${name}" input_param { shape { ${dims.map((d) => `dim: ${d}`).join(' ')} } } }\n`;

function lenet(batch: number): string {
  return `name: "LeNet"\n${input('data', [batch, 1, 28, 28])}${input('label', [batch])}
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2" convolution_param { num_output: 50 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool2" top: "ip1" inner_product_param { num_output: 500 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
`;
}

function segnet(batch: number, h: number, w: number): string {
  const block = (name: string, bottom: string) => `layer { name: "${name}" type: "Convolution" bottom: "${bottom}" top: "${name}" convolution_param { num_output: 64 kernel_size: 3 pad: 1 bias_term: false weight_filler { type: "msra" } } }
layer { name: "${name}_bn" type: "BatchNorm" bottom: "${name}" top: "${name}" batch_norm_param { use_global_stats: false } }
layer { name: "${name}_scale" type: "Scale" bottom: "${name}" top: "${name}" scale_param { bias_term: true } }
layer { name: "${name}_relu" type: "ReLU" bottom: "${name}" top: "${name}" }
`;
  let text = `name: "segnet_train"\n${input('data', [batch, 3, h, w])}${input('label', [batch, 1, h, w])}`;
  const sizes: [number, number][] = [];
  let [ch, cw] = [h, w];
  let bottom = 'data';
  for (let i = 1; i <= 4; i++) {
    text += block(`conv${i}`, bottom);
    sizes.push([ch, cw]);
    text += `layer { name: "pool${i}" type: "Pooling" bottom: "conv${i}" top: "pool${i}" top: "pool${i}_mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n`;
    [ch, cw] = [Math.ceil(ch / 2), Math.ceil(cw / 2)];
    bottom = `pool${i}`;
  }
  for (let i = 4; i >= 1; i--) {
    const [uh, uw] = sizes[i - 1];
    text += `layer { name: "upsample${i}" type: "Upsample" bottom: "${bottom}" bottom: "pool${i}_mask" top: "upsample${i}" upsample_param { upsample_h: ${uh} upsample_w: ${uw} } }\n`;
    text += block(`conv${i}_D`, `upsample${i}`);
    bottom = `conv${i}_D`;
  }
  text += `layer { name: "conv_classifier" type: "Convolution" bottom: "${bottom}" top: "conv_classifier" convolution_param { num_output: 11 kernel_size: 1 weight_filler { type: "msra" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "conv_classifier" bottom: "label" top: "loss" loss_param { weight_by_label_freqs: true ${CLASS_WEIGHTS.map((c) => `class_weighting: ${c}`).join(' ')} } }
`;
  return text;
}

const SOLVER = { base_lr: 0.01, momentum: 0.9, weight_decay: 0.0005, lr_policy: 'fixed', type: 'SGD' };

async function ours(text: string, iters: number, warmup: number): Promise<number> {
  const file = parseCaffeText(text, { kinds: ['net'] });
  const net = buildNet(file.message, { phase: 'TRAIN', dialect: file.dialect });
  const engine = await TrainingEngine.create(net, { values: initialValues(net, netParams(net).owned, 1), sgd: sgdInGraph(SOLVER, file.dialect) });
  try {
    const solver = new Solver(SOLVER, engine.params, engine.values, file.dialect);
    const batch = syntheticBatch(net);
    // As `caffe-tool train` steps: plain SGD inside the graph, the solver committing the new values.
    const step = async () => {
      const rate = solver.learningRate();
      const r = await engine.step(batch, solver.sgdInputs(rate, engine.graph.sgd.keys()));
      solver.apply(r.grads, rate, r.updated);
    };
    for (let i = 0; i < warmup; i++) await step();
    const t = performance.now();
    for (let i = 0; i < iters; i++) await step();
    return iters / ((performance.now() - t) / 1000);
  } finally {
    await engine.release();
  }
}

function torch(args: string[]): { iterations_per_second: number; threads: number } {
  const r = spawnSync(PYTHON, [TORCH, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train_torch.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const nets = (arg('nets') ?? 'lenet,segnet').split(',');
  const iterScale = Number(arg('iters') ?? 1);
  if (!process.argv.includes('--prototxt')) console.log(`bench/train on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}): iterations/s, higher is better; ratio = caffe-tool / PyTorch (target >= 1)`);
  const cases = {
    lenet: { text: lenet(64), torchArgs: (n: number, w: number) => ['lenet', '64', String(n), String(w)], iters: 100, warmup: 10, label: 'LeNet, batch 64' },
    segnet: { text: segnet(4, 360, 480), torchArgs: (n: number, w: number) => ['segnet', '4', '360', '480', String(n), String(w)], iters: 5, warmup: 2, label: 'SegNet-like 3x360x480, batch 4, class-weighted loss' },
  } as const;
  for (const name of nets) {
    const c = cases[name as keyof typeof cases];
    if (!c) throw new Error(`unknown net '${name}': lenet or segnet`);
    if (process.argv.includes('--prototxt')) {
      console.log(c.text);
      continue;
    }
    const iters = Math.max(1, Math.round(c.iters * iterScale));
    // Alternate the two sides twice and keep each side's best, so a noisy neighbour does not decide the ratio.
    const mine: number[] = [];
    const theirs: number[] = [];
    let threads = 0;
    for (let round = 0; round < 2; round++) {
      mine.push(await ours(c.text, iters, c.warmup));
      const t = torch(c.torchArgs(iters, c.warmup));
      theirs.push(t.iterations_per_second);
      threads = t.threads;
    }
    const a = Math.max(...mine);
    const b = Math.max(...theirs);
    console.log(`${c.label}: caffe-tool ${a.toFixed(2)} it/s, PyTorch ${b.toFixed(2)} it/s (${threads} threads), ratio ${(a / b).toFixed(2)}x`);
  }
}

await main();
