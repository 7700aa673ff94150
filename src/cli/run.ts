// caffe-tool run: images or .npy tensors through a model; top-K classes, a segmentation mask, or raw outputs.
import type { Command } from 'commander';
import { deviceOf, withDeviceOptions, type DeviceOptions } from './device.js';
import { CaffeToolError, usageError } from '../errors.js';
import { openModel } from '../runtime/model.js';
import { readLabels, describeItem, writeOutput } from '../runtime/outputs.js';
import { readMeanFile } from '../runtime/preprocess.js';
import { readInput } from '../runtime/inputs.js';
import { runSession } from '../runtime/session.js';
import { notice, parseInputShapes } from './common.js';

interface Options extends DeviceOptions {
  model?: string;
  weights?: string;
  onnx?: string;
  input?: string[];
  top: string;
  labels?: string;
  output?: string;
  json?: boolean;
  meanFile?: string;
  meanValues?: string;
  scale?: string;
  rgb?: boolean;
  resize?: string;
  shape?: string[];
}

export function register(program: Command): void {
  withDeviceOptions(program.command('run').description('run a model on images (JPEG/PNG) or .npy tensors: top-K classes, a mask PNG, or raw outputs'))
    .option('--model <prototxt>', 'the Caffe net (exported to ONNX in memory)')
    .option('--weights <caffemodel>', 'its trained weights')
    .option('--onnx <file>', 'an ONNX model instead')
    .option('--input <files...>', 'images or .npy tensors, one batch')
    .option('--top <k>', 'how many classes to list', '5')
    .option('--labels <file>', 'class names, one per line (synset_words.txt works)')
    .option('--output <file>', '.npy: the raw first output; .png: the segmentation mask in colour')
    .option('--json', 'print one JSON document')
    .option('--mean-file <binaryproto>', 'subtract this mean image (else the net\'s transform_param)')
    .option('--mean-values <b,g,r>', 'subtract these per-channel means')
    .option('--scale <s>', 'multiply after the mean is subtracted')
    .option('--rgb', 'feed RGB instead of Caffe\'s BGR')
    .option('--resize <H,W>', 'resize images to this size, then center-crop to the input')
    .option('--shape <name=N,C,H,W...>', 'input shapes for the Caffe net')
    .action(async (opts: Options) => {
      if (!opts.input?.length) throw usageError('run needs --input FILE...');
      const device = deviceOf(opts);
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
