// An ONNX model -> a Triton Inference Server model repository entry: REPO/NAME/config.pbtxt (Triton's
// ModelConfig in protobuf text format) and REPO/NAME/1/model.onnx, written as one folder that appears whole.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { CaffeToolError, usageError } from '../errors.js';
import { writeAll, writeAtomic } from '../io/atomic.js';
import { cEscape } from '../io/text/print.js';

export type InstanceKind = 'KIND_AUTO' | 'KIND_CPU' | 'KIND_GPU';

/** A tensor as the config declares it: with max_batch_size > 0 its dims leave out the batch axis. */
export interface TritonTensor {
  name: string;
  /** Triton's DataType name: TYPE_FP32, ... */
  dataType: string;
  /** -1 for a dimension that varies. */
  dims: number[];
}

export interface TritonConfig {
  name: string;
  /** 0: the model does not batch, and dims are the whole shapes. */
  maxBatch: number;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  instances: { count: number; kind: InstanceKind };
  /** dynamic_batching's max_queue_delay_microseconds; Triton's default (0) when absent. */
  maxQueueDelayUs?: number;
}

/** ONNX Runtime's tensor type names to Triton's DataType. */
const DATA_TYPES: Record<string, string> = {
  float32: 'TYPE_FP32', float16: 'TYPE_FP16', float64: 'TYPE_FP64', bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8', uint16: 'TYPE_UINT16', uint32: 'TYPE_UINT32', uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8', int16: 'TYPE_INT16', int32: 'TYPE_INT32', int64: 'TYPE_INT64', string: 'TYPE_STRING',
};

function tritonDataType(ortType: string, tensor: string): string {
  const t = DATA_TYPES[ortType];
  if (!t) throw new CaffeToolError(`'${tensor}' holds ${ortType}, which Triton has no data type for`);
  return t;
}

/** Whether a shape's first axis is left open (a symbolic name or -1): what Triton's batching needs. */
export function hasOpenBatch(shape: readonly (number | string)[]): boolean {
  return shape.length > 0 && (typeof shape[0] === 'string' || shape[0] < 0);
}

/** The dims the config declares for a model's shape: without the batch axis when batching; open axes as -1. */
export function configDims(shape: readonly (number | string)[], batched: boolean): number[] {
  return (batched ? shape.slice(1) : shape).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

/** A model's input or output as ONNX Runtime describes it (its session's inputMetadata/outputMetadata). */
export interface OnnxValueMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

export interface TritonConfigOptions {
  name: string;
  /** max_batch_size asked for; 0 when the model has a fixed batch. */
  maxBatch: number;
  instances: { count: number; kind: InstanceKind };
  maxQueueDelayUs?: number;
}

/**
 * The config for a model with these inputs and outputs. It batches only when every tensor's first axis is
 * open; `fixed` names the tensors that kept it from batching when a batch was asked for.
 */
export function tritonConfig(inputs: readonly OnnxValueMeta[], outputs: readonly OnnxValueMeta[], o: TritonConfigOptions): { config: TritonConfig; fixed: string[] } {
  const tensors = [...inputs, ...outputs].map((m) => {
    if (!m.isTensor) throw new CaffeToolError(`'${m.name}' is not a tensor; Triton's config cannot declare it`);
    return { name: m.name, type: m.type ?? '', shape: m.shape ?? [] };
  });
  const batched = o.maxBatch > 0 && tensors.every((t) => hasOpenBatch(t.shape));
  const fixed = o.maxBatch > 0 && !batched ? tensors.filter((t) => !hasOpenBatch(t.shape)).map((t) => `${t.name} ${t.shape.join('x')}`) : [];
  const toTriton = (t: (typeof tensors)[number]): TritonTensor => ({ name: t.name, dataType: tritonDataType(t.type, t.name), dims: configDims(t.shape, batched) });
  const config = {
    name: o.name, maxBatch: batched ? o.maxBatch : 0,
    inputs: tensors.slice(0, inputs.length).map(toTriton),
    outputs: tensors.slice(inputs.length).map(toTriton),
    instances: o.instances, maxQueueDelayUs: o.maxQueueDelayUs,
  };
  return { config, fixed };
}

export function tritonConfigText(c: TritonConfig): string {
  const q = (s: string) => `"${cEscape(new TextEncoder().encode(s))}"`;
  const tensors = (list: TritonTensor[]) =>
    list.map((t) => `  {\n    name: ${q(t.name)}\n    data_type: ${t.dataType}\n    dims: [ ${t.dims.join(', ')} ]\n  }`).join(',\n');
  const lines = [
    `name: ${q(c.name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${c.maxBatch}`,
    `input [\n${tensors(c.inputs)}\n]`,
    `output [\n${tensors(c.outputs)}\n]`,
  ];
  // Triton refuses dynamic_batching on a model that does not batch.
  if (c.maxBatch > 0) lines.push(c.maxQueueDelayUs ? `dynamic_batching {\n  max_queue_delay_microseconds: ${c.maxQueueDelayUs}\n}` : 'dynamic_batching { }');
  lines.push(`instance_group [\n  {\n    count: ${c.instances.count}\n    kind: ${c.instances.kind}\n  }\n]`);
  return `${lines.join('\n')}\n`;
}

/** A model name Triton can load: it is the folder's name, so no separators and nothing hidden. */
export function checkModelName(name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.startsWith('.')) {
    throw usageError(`'${name}' cannot be a Triton model name: it names the model's folder`, 'give --name with letters, digits, - and _');
  }
}

/**
 * Write REPO/NAME/config.pbtxt and REPO/NAME/1/model.onnx. The folder is built beside REPO and renamed into
 * place, so Triton (which may be polling REPO) never sees half a model. An existing REPO/NAME is replaced only
 * with `force`. Returns the model folder.
 */
export function writeTritonModel(repo: string, config: TritonConfig, onnx: Uint8Array, opts: { force?: boolean; inputs?: string[] } = {}): string {
  checkModelName(config.name);
  const target = join(repo, config.name);
  if (existsSync(target)) {
    if (!opts.force) throw usageError(`${target} already exists`, 'add --force to replace that model, or choose another --name');
    for (const input of opts.inputs ?? []) {
      if (resolve(input).startsWith(resolve(target) + sep)) throw usageError(`${input} is inside ${target}, which --force would replace`, 'copy the input elsewhere first');
    }
  }
  const parent = dirname(resolve(repo));
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = join(parent, `.${basename(resolve(repo))}-${config.name}.tmp-${tag}`);
  const createdRepo = !existsSync(repo);
  try {
    mkdirSync(join(tmp, '1'), { recursive: true });
  } catch (e) {
    throw new CaffeToolError(`cannot write beside ${repo}: ${(e as Error).message}`, { cause: e });
  }
  let old: string | undefined;
  try {
    writeAtomic(join(tmp, '1', 'model.onnx'), (fd) => writeAll(fd, onnx));
    writeAtomic(join(tmp, 'config.pbtxt'), (fd) => writeAll(fd, new TextEncoder().encode(tritonConfigText(config))));
    mkdirSync(repo, { recursive: true });
    if (existsSync(target)) {
      old = join(parent, `.${basename(resolve(repo))}-${config.name}.old-${tag}`);
      renameSync(target, old);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (old && !existsSync(target)) renameSync(old, target);
    if (createdRepo) rmSync(repo, { recursive: true, force: true });
    throw e instanceof CaffeToolError ? e : new CaffeToolError(`cannot write ${target}: ${(e as Error).message}`, { cause: e });
  }
  if (old) rmSync(old, { recursive: true, force: true });
  return target;
}
