// ONNX Runtime sessions on the CPU or, where its provider is installed, on a CUDA GPU.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { CaffeToolError, usageError } from '../errors.js';

/** Where a session runs; `threads`: ONNX Runtime's threads inside an operator (its default: one per core). */
export type Device = ({ kind: 'cpu' } | { kind: 'cuda'; id: number }) & { threads?: number };

/** `cpu`, `cuda` or `cuda:N`, and --threads when given. */
export function parseDevice(spec: string | undefined, threads?: string): Device {
  const n = threads === undefined ? undefined : Number(threads);
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw usageError(`--threads must be a whole number from 1, not '${threads}'`);
  const extra = n === undefined ? {} : { threads: n };
  if (spec === undefined || spec === 'cpu') return { kind: 'cpu', ...extra };
  const m = /^cuda(?::(\d+))?$/.exec(spec);
  if (!m) throw usageError(`--device must be cpu, cuda or cuda:N, not '${spec}'`);
  return { kind: 'cuda', id: Number(m[1] ?? 0), ...extra };
}

/** Whether onnxruntime-node's CUDA provider library was installed next to its binding. */
export function cudaProviderInstalled(): boolean {
  const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const walk = (dir: string): boolean => {
    if (!existsSync(dir)) return false;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() ? walk(join(dir, e.name)) : /onnxruntime_providers_cuda/.test(e.name)) return true;
    }
    return false;
  };
  return walk(join(root, 'bin'));
}

export const CUDA_INSTALL_HINT =
  'the CUDA provider is not downloaded at install time (.npmrc has onnxruntime-node-install=skip); on a machine with CUDA 12, reinstall with: ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci';

/**
 * A session on an ONNX model (bytes or a file); `externalData`: the buffers its external tensors name (exportOnnx
 * forSession); `profile`: a folder for ONNX Runtime's profile of every run (layer-times.ts reads it).
 */
export async function createSession(
  model: Uint8Array | string, device: Device = { kind: 'cpu' }, externalData?: { path: string; data: Uint8Array }[], profile?: string,
): Promise<ort.InferenceSession> {
  if (device.kind === 'cuda' && !cudaProviderInstalled()) {
    throw new CaffeToolError("--device cuda: ONNX Runtime's CUDA provider is not installed", { hint: CUDA_INSTALL_HINT });
  }
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: device.kind === 'cuda' ? [{ name: 'cuda', deviceId: device.id } as ort.InferenceSession.ExecutionProviderConfig, 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    ...(device.threads ? { intraOpNumThreads: device.threads } : {}),
    // Fatal only: ONNX Runtime's own notices would mix with the command's output on stderr, and its errors come
    // back as exceptions, which caffe-tool reports in the net's terms.
    logSeverityLevel: 4,
    ...(externalData ? { externalData } : {}),
    ...(profile ? { enableProfiling: true, profileFilePrefix: join(profile, 'profile') } : {}),
  };
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (device.kind === 'cuda') throw new CaffeToolError(`ONNX Runtime could not start on cuda:${device.id}: ${msg}`, { hint: CUDA_INSTALL_HINT, cause: e });
    throw new CaffeToolError(`ONNX Runtime refused the model: ${msg}`, { cause: e });
  }
}

/** Run a session on named float32 inputs; returns every output as a Float32Array with its dims. */
export async function runSession(
  session: ort.InferenceSession, inputs: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
  const results = await session.run(feeds);
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = { data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>), dims: [...t.dims] };
  }
  return out;
}
