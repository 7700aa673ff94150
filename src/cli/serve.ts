// caffe-tool serve: models over HTTP with the Open Inference Protocol (KServe v2), an image endpoint, metrics
// and a web page; stops gracefully on SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { deviceOf, withDeviceOptions, type DeviceOptions } from './device.js';
import { usageError } from '../errors.js';
import { readLabels } from '../runtime/outputs.js';
import { readMeanFile, type Preprocess } from '../runtime/preprocess.js';
import { modelName, type ModelSource } from '../runtime/serve/models.js';
import { SERVE_DEFAULTS, startServer, type ServeOptions } from '../runtime/serve/server.js';
import { notice, parseInputShapes } from './common.js';

interface Options extends DeviceOptions {
  model?: string;
  weights?: string;
  onnx?: string;
  name?: string;
  modelSpec: string[];
  host: string;
  port: string;
  labels: string[];
  maxBatch: string;
  maxDelayMs: string;
  maxQueue: string;
  maxBody: string;
  meanFile?: string;
  meanValues?: string;
  scale?: string;
  rgb?: boolean;
  resize?: string;
  shape?: string[];
}

const collect = (value: string, all: string[]) => [...all, value];

export function register(program: Command): void {
  withDeviceOptions(program.command('serve').description('serve models over HTTP: the Open Inference Protocol (KServe v2), an image endpoint, /metrics and a web page at /'))
    .option('--model <prototxt>', 'a Caffe net (exported to ONNX in memory, batch axis dynamic)')
    .option('--weights <caffemodel>', 'its trained weights')
    .option('--onnx <file>', 'an ONNX model instead')
    .option('--name <name>', 'the name to serve that model under (default: the net\'s name, or the file\'s stem)')
    .option('--model-spec <NAME=M,W|NAME=F.onnx>', 'one more model, repeatable: NAME=net.prototxt,weights.caffemodel or NAME=model.onnx', collect, [])
    .option('--host <host>', 'address to listen on', SERVE_DEFAULTS.host)
    .option('--port <port>', 'port to listen on; 0 picks a free one', String(SERVE_DEFAULTS.port))
    .option('--labels <FILE|NAME=FILE>', 'class names, one per line: for every model, or NAME=FILE for one (repeatable)', collect, [])
    .option('--max-batch <n>', 'items in one session call', String(SERVE_DEFAULTS.maxBatch))
    .option('--max-delay-ms <ms>', 'how long a request waits for others to batch with', String(SERVE_DEFAULTS.maxDelayMs))
    .option('--max-queue <n>', 'requests waiting per model before 503', String(SERVE_DEFAULTS.maxQueue))
    .option('--max-body <bytes>', 'largest request body (K, M, G suffixes), larger ones get 413', '64M')
    .option('--mean-file <binaryproto>', 'subtract this mean image from images (else the net\'s transform_param)')
    .option('--mean-values <b,g,r>', 'subtract these per-channel means from images')
    .option('--scale <s>', 'multiply images after the mean is subtracted')
    .option('--rgb', 'feed images as RGB instead of Caffe\'s BGR')
    .option('--resize <H,W>', 'resize images to this size, then center-crop to the input')
    .option('--shape <name=N,C,H,W...>', 'input shapes for the Caffe nets')
    .action(async (opts: Options) => {
      // Named once here: a Caffe net's name is read from its prototxt.
      const sources = modelSources(opts).map((s) => ({ ...s, name: modelName(s) }));
      const labels = labelsFor(opts.labels, sources);
      const preprocess = preprocessFlags(opts);
      const handle = await startServer({
        models: sources.map((s, i) => ({ ...s, labels: labels[i], preprocess })),
        host: opts.host,
        port: integer('--port', opts.port, 0),
        device: deviceOf(opts),
        shapes: parseInputShapes(opts.shape),
        maxBatch: integer('--max-batch', opts.maxBatch, 1),
        maxDelayMs: Math.max(0, number('--max-delay-ms', opts.maxDelayMs)),
        maxQueue: integer('--max-queue', opts.maxQueue, 1),
        maxBody: byteSize(opts.maxBody),
        notice,
      } satisfies ServeOptions);
      for (const m of handle.models) {
        const shapes = (ts: { name: string; shape: number[] }[]) => ts.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ');
        process.stderr.write(`caffe-tool: serving '${m.name}' (${m.task}${m.dynamicBatch ? '' : ', fixed batch: one request at a time'}): ${shapes(m.inputs)} -> ${shapes(m.outputs)}\n`);
      }
      // Scripts and tests read this line to find the server: keep it exactly so.
      process.stdout.write(`listening on ${handle.url}\n`);

      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          process.stderr.write(`caffe-tool: ${signal}: finishing the requests in flight\n`);
          handle.close().then(resolve, (e: unknown) => {
            notice(`while closing: ${(e as Error)?.message ?? e}`);
            resolve();
          });
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.once('SIGTERM', onTerm);
        process.once('SIGINT', onInt);
      });
    });
}

/** --model/--weights or --onnx (under --name), then every --model-spec. */
function modelSources(opts: Options): ModelSource[] {
  const sources: ModelSource[] = [];
  if (opts.model || opts.weights || opts.onnx) {
    if (opts.onnx && (opts.model || opts.weights)) throw usageError('give either --onnx or --model/--weights, not both');
    if (!opts.onnx && !(opts.model && opts.weights)) throw usageError('serving a Caffe net needs --model and --weights');
    sources.push({ name: opts.name, model: opts.model, weights: opts.weights, onnx: opts.onnx });
  } else if (opts.name) throw usageError('--name names the model given with --model/--weights or --onnx', 'for --model-spec, the name is before the =');
  for (const spec of opts.modelSpec) {
    const m = /^([^=]+)=(.+)$/.exec(spec);
    const paths = m?.[2].split(',') ?? [];
    if (!m || paths.length > 2 || paths.some((p) => !p)) {
      throw usageError(`--model-spec takes NAME=net.prototxt,weights.caffemodel or NAME=model.onnx, not '${spec}'`);
    }
    sources.push(paths.length === 2 ? { name: m[1], model: paths[0], weights: paths[1] } : { name: m[1], onnx: paths[0] });
  }
  if (!sources.length) throw usageError('serve needs a model: --model M --weights W, --onnx F, or --model-spec NAME=...');
  return sources;
}

/** Each source's labels: NAME=FILE for that model, a plain FILE for every model. */
function labelsFor(flags: string[], sources: { name: string }[]): (string[] | undefined)[] {
  const names = sources.map((s) => s.name);
  let every: string[] | undefined;
  const byName = new Map<string, string[]>();
  for (const flag of flags) {
    const m = /^([^=]+)=(.+)$/.exec(flag);
    if (m && names.includes(m[1]) && !existsSync(flag)) byName.set(m[1], labelsFile(m[2]));
    else every = labelsFile(flag);
  }
  return names.map((n) => byName.get(n) ?? every);
}

function labelsFile(path: string): string[] {
  try {
    return readLabels(path);
  } catch (e) {
    throw usageError(`--labels ${path}: ${(e as Error).message}`, 'give a text file with one class name per line, or NAME=FILE for one model');
  }
}

function preprocessFlags(opts: Options): Partial<Preprocess> {
  const pre: Partial<Preprocess> = {};
  if (opts.meanFile) [pre.meanImage, pre.meanValues] = [readMeanFile(opts.meanFile), undefined];
  if (opts.meanValues) [pre.meanImage, pre.meanValues] = [undefined, opts.meanValues.split(',').map((v) => number('--mean-values', v))];
  if (opts.scale) pre.scale = number('--scale', opts.scale);
  if (opts.rgb) pre.channelOrder = 'rgb';
  if (opts.resize) {
    const r = opts.resize.split(',').map((v) => integer('--resize', v, 1));
    if (r.length !== 2) throw usageError(`--resize takes H,W, not '${opts.resize}'`);
    pre.resize = r as [number, number];
  }
  return pre;
}

function number(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw usageError(`${flag} takes a number, not '${value}'`);
  return n;
}

function integer(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw usageError(`${flag} takes a whole number from ${min}, not '${value}'`);
  return n;
}

/** `65536`, `64K`, `64M`, `1G` (powers of 1024). */
function byteSize(value: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(value.trim());
  if (!m) throw usageError(`--max-body takes a size such as 1048576, 512K or 64M, not '${value}'`);
  return Number(m[1]) * 1024 ** ' KMG'.indexOf(m[2].toUpperCase() || ' ');
}
