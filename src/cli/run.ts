// caffe-tool run: images or .npy tensors through a model; top-K classes, a segmentation mask, or raw outputs.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import { CaffeToolError, usageError } from '../errors.js';
import { writeAll, writeAtomic } from '../io/atomic.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { openModel } from '../runtime/model.js';
import { imageToTensor, readMeanFile } from '../runtime/preprocess.js';
import { parseDevice, runSession } from '../runtime/session.js';
import { classMap, colourMask, readLabels, topK } from '../runtime/outputs.js';
import { notice, parseInputShapes } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  onnx?: string;
  input?: string[];
  top: string;
  labels?: string;
  output?: string;
  json?: boolean;
  device?: string;
  meanFile?: string;
  meanValues?: string;
  scale?: string;
  rgb?: boolean;
  resize?: string;
  shape?: string[];
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a model on images (JPEG/PNG) or .npy tensors: top-K classes, a mask PNG, or raw outputs')
    .option('--model <prototxt>', 'the Caffe net (exported to ONNX in memory)')
    .option('--weights <caffemodel>', 'its trained weights')
    .option('--onnx <file>', 'an ONNX model instead')
    .option('--input <files...>', 'images or .npy tensors, one batch')
    .option('--top <k>', 'how many classes to list', '5')
    .option('--labels <file>', 'class names, one per line (synset_words.txt works)')
    .option('--output <file>', '.npy: the raw first output; .png: the segmentation mask in colour')
    .option('--json', 'print one JSON document')
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--mean-file <binaryproto>', 'subtract this mean image (else the net\'s transform_param)')
    .option('--mean-values <b,g,r>', 'subtract these per-channel means')
    .option('--scale <s>', 'multiply after the mean is subtracted')
    .option('--rgb', 'feed RGB instead of Caffe\'s BGR')
    .option('--resize <H,W>', 'resize images to this size, then center-crop to the input')
    .option('--shape <name=N,C,H,W...>', 'input shapes for the Caffe net')
    .action(async (opts: Options) => {
      if (!opts.input?.length) throw usageError('run needs --input FILE...');
      const device = parseDevice(opts.device);
      const model = await openModel({ model: opts.model, weights: opts.weights, onnx: opts.onnx, device, inputs: parseInputShapes(opts.shape), dynamicBatch: true, notice });
      if (model.inputs.length !== 1) throw new CaffeToolError(`the model has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}): run feeds one`);
      const [input] = model.inputs;
      const pre = { ...model.preprocess };
      if (opts.meanFile) pre.meanImage = readMeanFile(opts.meanFile);
      if (opts.meanValues) [pre.meanImage, pre.meanValues] = [undefined, opts.meanValues.split(',').map(Number)];
      if (opts.scale) pre.scale = Number(opts.scale);
      if (opts.rgb) pre.channelOrder = 'rgb';
      if (opts.resize) pre.resize = opts.resize.split(',').map(Number) as [number, number];

      const item = input.shape.slice(1).map(Number);
      if (item.some((d) => !(d > 0))) throw new CaffeToolError(`the input '${input.name}' has no fixed shape (${input.shape.join('x')}): give --shape`);
      const items: { file: string; data: Float32Array }[] = [];
      for (const file of opts.input) items.push(...(await readInput(file, item, pre)));
      const size = item.reduce((a, b) => a * b, 1);
      const batch = new Float32Array(size * items.length);
      items.forEach((it, i) => batch.set(it.data, i * size));
      const t0 = performance.now();
      const out = await runSession(model.session, { [input.name]: { data: batch, dims: [items.length, ...item] } });
      const ms = performance.now() - t0;
      const first = out[model.outputs[0]];
      const labels = opts.labels ? readLabels(opts.labels) : undefined;

      if (opts.output) await writeOutput(opts.output, first, items.length);
      const perItem = items.map((it, i) => describeItem(it.file, i, first, Number(opts.top), labels));
      if (opts.json) {
        const outputs = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { shape: v.dims, ...(v.data.length <= 4096 ? { data: Array.from(v.data) } : {}) }]));
        process.stdout.write(`${JSON.stringify({ ms, items: perItem, outputs }, null, 2)}\n`);
        return;
      }
      for (const it of perItem) {
        process.stdout.write(`${it.file}:\n`);
        if (it.top) for (const t of it.top) process.stdout.write(`  ${t.score.toFixed(4)}  ${t.label ?? `class ${t.index}`}\n`);
        if (it.classes) process.stdout.write(`  segmentation ${it.classes.height}x${it.classes.width}: ${it.classes.counts.map((c) => `${c.label ?? `class ${c.index}`} ${(c.share * 100).toFixed(1)}%`).join(', ')}\n`);
        if (!it.top && !it.classes) process.stdout.write(`  ${model.outputs[0]}: shape ${first.dims.join('x')}\n`);
      }
      process.stderr.write(`forward: ${ms.toFixed(1)} ms for ${items.length} input${items.length === 1 ? '' : 's'}; model ready in ${model.loadMs.toFixed(0)} ms\n`);
    });
}

/** One input file as batch items: an image is one; a .npy is one (C x H x W) or several (N x C x H x W). */
async function readInput(file: string, item: number[], pre: Parameters<typeof imageToTensor>[2]): Promise<{ file: string; data: Float32Array }[]> {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') {
    const a = readNpy(readFileSync(file), file);
    const size = item.reduce((x, y) => x * y, 1);
    const batched = a.shape.length === item.length + 1 && a.shape.slice(1).join('x') === item.join('x');
    if (!batched && a.shape.join('x') !== item.join('x')) {
      throw new CaffeToolError(`${file} is ${a.shape.join('x')}: the model takes ${item.join('x')} per input (or N x ${item.join('x')})`);
    }
    const n = batched ? a.shape[0] : 1;
    return Array.from({ length: n }, (_, i) => ({ file: n === 1 ? file : `${file}[${i}]`, data: a.data.subarray(i * size, (i + 1) * size) }));
  }
  if (item.length !== 3) throw new CaffeToolError(`images feed a C x H x W input; this model takes ${item.join('x')}: give .npy tensors`);
  return [{ file, data: await imageToTensor(file, item as [number, number, number], pre) }];
}

function describeItem(file: string, i: number, out: { data: Float32Array; dims: number[] }, k: number, labels?: string[]) {
  const [n, c, ...rest] = out.dims;
  const per = out.data.length / n;
  const slice = out.data.subarray(i * per, (i + 1) * per);
  const spatial = rest.reduce((a, b) => a * b, 1);
  if (c !== undefined && spatial === 1) return { file, top: topK(slice, k, labels) };
  if (c !== undefined && rest.length === 2 && spatial > 1) return { file, classes: classMap(slice, c, rest[0], rest[1], labels) };
  return { file };
}

async function writeOutput(path: string, out: { data: Float32Array; dims: number[] }, n: number): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    writeAtomic(path, (fd) => writeAll(fd, writeNpy({ data: out.data, shape: out.dims })));
    return;
  }
  if (ext !== '.png') throw usageError(`--output ${path}: write .npy (raw output) or .png (segmentation mask)`);
  const [, c, h, w] = out.dims;
  if (out.dims.length !== 4 || h * w <= 1) throw new CaffeToolError(`a mask needs an N x C x H x W output, this one is ${out.dims.join('x')}`);
  for (let i = 0; i < n; i++) {
    const rgb = colourMask(out.data.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w);
    const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
    const file = n === 1 ? path : path.replace(/\.png$/i, `_${i}.png`);
    writeAtomic(file, (fd) => writeAll(fd, png));
  }
}
