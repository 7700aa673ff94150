// A model as the server holds it: its session behind a batcher, what its metadata says (the batch axis as
// -1 where it is dynamic), whether it classifies or segments, and how images are preprocessed for it.
import { basename, extname } from 'node:path';
import { CaffeToolError, usageError } from '../../errors.js';
import { readCaffeFile } from '../../io/files.js';
import { count } from '../../layers/shape.js';
import { openModel } from '../model.js';
import type { Preprocess } from '../preprocess.js';
import { runSession, type Device } from '../session.js';
import { Batcher, type BatcherOptions } from './batcher.js';

export interface ModelSource {
  name?: string;
  model?: string;
  weights?: string;
  onnx?: string;
}

/** A model to serve, with what the command line adds to it: class names, and preprocessing over the net's. */
export interface ServedSource extends ModelSource {
  labels?: string[];
  preprocess?: Partial<Preprocess>;
}

export interface TensorMeta {
  name: string;
  /** -1 where the size is not fixed (the batch axis of a dynamic-batch model). */
  shape: number[];
}

export interface ServedModel {
  name: string;
  version: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  /** The batch axis is symbolic: requests may carry 1..maxBatch items and are batched together. */
  dynamicBatch: boolean;
  task: 'classify' | 'segment';
  preprocess: Preprocess;
  labels?: string[];
  batcher: Batcher;
  release(): Promise<void>;
}

export interface LoadOptions {
  device?: Device;
  /** Input shapes for a Caffe net (`--shape data=1,3,224,224`). */
  shapes?: Record<string, number[]>;
  batching: Omit<BatcherOptions, 'combine' | 'onBatch' | 'onQueueDepth'>;
  onBatch?: (model: string, items: number) => void;
  onQueueDepth?: (model: string, depth: number) => void;
  notice?: (message: string) => void;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** The name a model is served under: --name, else the Caffe net's name, else the file's stem. */
export function modelName(source: ModelSource): string {
  if (source.name !== undefined) {
    if (!NAME.test(source.name)) throw usageError(`model name '${source.name}': use letters, digits, '_', '.' and '-'`);
    return source.name;
  }
  let name: string | undefined;
  if (source.model) {
    try {
      const net = readCaffeFile(source.model, { kinds: ['net'] }).message.name;
      if (typeof net === 'string') name = net;
    } catch {
      // The load proper reports what is wrong with the file.
    }
  }
  const file = source.onnx ?? source.model ?? 'model';
  name = (name || basename(file, extname(file))).replace(/[^A-Za-z0-9_.-]+/g, '_');
  return name || 'model';
}

export async function loadServedModel(source: ServedSource, opts: LoadOptions): Promise<ServedModel> {
  const name = modelName(source);
  const ready = await openModel({
    model: source.model, weights: source.weights, onnx: source.onnx, device: opts.device, inputs: opts.shapes, dynamicBatch: true, notice: opts.notice,
  });
  const { session } = ready;
  const symbolic = (d: number | string) => typeof d === 'string' || !(d > 0);
  const dynamicBatch = ready.inputs.length > 0 && ready.inputs.every((i) => i.shape.length > 0 && symbolic(i.shape[0]));
  const inputs = ready.inputs.map((i) => ({ name: i.name, shape: i.shape.map((d) => (symbolic(d) ? -1 : Number(d))) }));
  if (!inputs.length) throw new CaffeToolError(`${source.onnx ?? source.model}: the model has no inputs to feed`);

  // One forward on zeros gives the outputs' shapes (a dynamic-batch export does not state them) and warms
  // the session up, so the first request is not the slow one.
  let outputs: TensorMeta[];
  if (inputs.every((i) => i.shape.slice(1).every((d) => d > 0))) {
    const feeds = Object.fromEntries(inputs.map((i) => {
      const dims = [i.shape[0] > 0 ? i.shape[0] : 1, ...i.shape.slice(1)];
      return [i.name, { data: new Float32Array(count(dims)), dims }];
    }));
    const out = await runSession(session, feeds);
    outputs = ready.outputs.map((o) => ({ name: o, shape: out[o].dims.map((d, k) => (k === 0 && dynamicBatch ? -1 : d)) }));
  } else {
    outputs = session.outputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) : [] }));
  }
  const first = outputs[0]?.shape ?? [];
  const task = first.length === 4 && first[2] * first[3] > 1 ? 'segment' : 'classify';

  const batcher = new Batcher((feeds) => runSession(session, feeds), {
    ...opts.batching,
    combine: dynamicBatch,
    onBatch: (items) => opts.onBatch?.(name, items),
    onQueueDepth: (depth) => opts.onQueueDepth?.(name, depth),
  });
  return {
    name, version: '1', inputs, outputs, dynamicBatch, task, preprocess: { ...ready.preprocess, ...source.preprocess }, labels: source.labels, batcher,
    release: () => session.release(),
  };
}
