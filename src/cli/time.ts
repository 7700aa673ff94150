// caffe-tool time: forward timing like `caffe time`: warm-up, N iterations, mean and percentiles.
import type { Command } from 'commander';
import { deviceOf, withDeviceOptions, type DeviceOptions } from './device.js';
import { CaffeToolError, usageError } from '../errors.js';
import { forwardLayerTimes, type LayerTimes, PROFILED_RUNS } from '../runtime/layer-times.js';
import { openModel } from '../runtime/model.js';
import { runSession } from '../runtime/session.js';
import { notice, parseInputShapes } from './common.js';
import { timingStats } from '../runtime/stats.js';
import { dataLayerShapes, timeTrainingStep } from '../train/timing.js';

interface Options extends DeviceOptions {
  model?: string;
  weights?: string;
  onnx?: string;
  iterations: string;
  warmup: string;
  batch?: string;
  shape?: string[];
  json?: boolean;
  backward?: boolean;
  layers?: boolean;
}

export function register(program: Command): void {
  withDeviceOptions(program.command('time').description('time the forward pass (random input; random weights when none are given)'))
    .option('--model <prototxt>', 'the Caffe net')
    .option('--weights <caffemodel>', 'its weights (default: random, as caffe time uses fillers)')
    .option('--onnx <file>', 'an ONNX model instead')
    .option('--iterations <n>', 'timed iterations', '50')
    .option('--warmup <n>', 'untimed iterations first', '5')
    .option('--batch <n>', 'batch size (default: the net\'s)')
    .option('--shape <name=N,C,H,W...>', 'input shapes for the Caffe net')
    .option('--json', 'print one JSON document')
    .option('--backward', 'time a training step (the TRAIN net forward and backward) instead of the forward')
    .option('--layers', 'also each layer\'s time, forward (and backward), from ONNX Runtime\'s profile (a Caffe net only)')
    .action(async (opts: Options) => {
      const iterations = Number(opts.iterations);
      const warmup = Number(opts.warmup);
      if (!(Number.isInteger(iterations) && iterations > 0)) throw usageError(`--iterations must be a positive whole number, not '${opts.iterations}'`);
      if (!(Number.isInteger(warmup) && warmup >= 0)) throw usageError(`--warmup must be a whole number, 0 or more, not '${opts.warmup}'`);
      if (opts.batch !== undefined && !(Number.isInteger(Number(opts.batch)) && Number(opts.batch) > 0)) throw usageError(`--batch must be a positive whole number, not '${opts.batch}'`);
      if (opts.layers && !opts.model) throw usageError('--layers names the layers of a Caffe net: give --model');
      if (opts.backward) {
        if (!opts.model || opts.onnx) throw usageError('--backward times a Caffe net: give --model (a train/val or deploy prototxt)');
        if (opts.batch !== undefined) throw usageError('--backward takes the batch from the net: set it with --shape data=N,C,H,W');
        const inputs = parseInputShapes(opts.shape) ?? (await dataLayerShapes(opts.model, 'TRAIN', notice));
        const r = await timeTrainingStep({ model: opts.model, weights: opts.weights, inputs, device: deviceOf(opts), iterations, warmup, layers: opts.layers, notice });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `training step (forward + backward, batch ${r.batch}, ${iterations} iterations after ${warmup} warm-up): mean ${r.meanMs.toFixed(2)} ms, p50 ${r.p50Ms.toFixed(2)}, p99 ${r.p99Ms.toFixed(2)}, min ${r.minMs.toFixed(2)} ms\n` +
            `${r.iterationsPerSecond.toFixed(2)} iterations/s\n${r.layerTimes ? perLayer(r.layerTimes) : ''}`,
        );
        return;
      }
      const spec = {
        model: opts.model, weights: opts.weights, onnx: opts.onnx, device: deviceOf(opts),
        inputs: parseInputShapes(opts.shape) ?? (opts.model && !opts.onnx ? await dataLayerShapes(opts.model, 'TEST', notice) : undefined),
        randomWeights: true, dynamicBatch: opts.batch !== undefined, notice,
      };
      const model = await openModel(spec);
      const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
      let batch = 0;
      for (const input of model.inputs) {
        const dims = input.shape.map((d, i) => (i === 0 && opts.batch ? Number(opts.batch) : Number(d)));
        if (dims.some((d) => !(d > 0))) throw new CaffeToolError(`input '${input.name}' has no fixed shape (${input.shape.join('x')}): give --batch or --shape`);
        batch = dims[0];
        const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
        for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 0.5;
        feeds[input.name] = { data, dims };
      }
      for (let i = 0; i < warmup; i++) await runSession(model.session, feeds);
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t = performance.now();
        await runSession(model.session, feeds);
        times.push(performance.now() - t);
      }
      const stats = timingStats(times);
      const mean = stats.meanMs;
      const layers = opts.layers ? await forwardLayerTimes(spec, feeds) : undefined;
      const result = { batch, iterations, warmup, loadMs: model.loadMs, ...stats, imagesPerSecond: (batch * 1000) / mean, ...(layers ? { layerTimes: layers } : {}) };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const f = (x: number) => x.toFixed(2);
      process.stdout.write(
        `model ready in ${model.loadMs.toFixed(0)} ms\n` +
          `forward (batch ${batch}, ${iterations} iterations after ${warmup} warm-up): mean ${f(mean)} ms, p50 ${f(result.p50Ms)}, p90 ${f(result.p90Ms)}, p99 ${f(result.p99Ms)}, min ${f(result.minMs)} ms\n` +
          `${result.imagesPerSecond.toFixed(1)} images/s\n${layers ? perLayer(layers) : ''}`,
      );
    });
}

/** `caffe time`'s "Average time per layer" lines: the name right-aligned in 10, a tab, forward (and backward). */
function perLayer(t: LayerTimes): string {
  const lines = [`Average time per layer (ONNX Runtime's kernel times, ${PROFILED_RUNS} profiled runs):`];
  for (const l of t.layers) {
    lines.push(`${l.layer.padStart(10)}\tforward: ${l.forwardMs.toFixed(4)} ms.`);
    if (l.backwardMs !== undefined) lines.push(`${l.layer.padStart(10)}\tbackward: ${l.backwardMs.toFixed(4)} ms.`);
  }
  lines.push(`nodes of no layer (ONNX Runtime's own layout reorders): ${t.otherMs.toFixed(4)} ms.`);
  return `${lines.join('\n')}\n`;
}
