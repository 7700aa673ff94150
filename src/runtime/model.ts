// A model ready to run: a Caffe net (+ weights) exported to ONNX in memory, or an .onnx file; its session,
// its inputs' shapes and the preprocessing the net declares.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import onnxProto from 'onnx-proto';
import type ort from 'onnxruntime-node';
import { exportOnnx } from '../convert/to-onnx.js';
import { CaffeToolError, usageError } from '../errors.js';
import { loadNet, loadWeights } from '../net/load.js';
import { fillRandomWeights } from '../net/weights.js';
import { nchwcBlockSize } from './nchwc.js';
import { preprocessFromNet, type Preprocess } from './preprocess.js';
import { createSession, type Device } from './session.js';

export interface ModelSpec {
  model?: string;
  weights?: string;
  onnx?: string;
  device?: Device;
  /** Shapes of inputs (`--input data=1,3,224,224`), for the Caffe net or to check an ONNX model's. */
  inputs?: Record<string, number[]>;
  /** Without --weights, run on random weights (timing), instead of refusing. */
  randomWeights?: boolean;
  dynamicBatch?: boolean;
  notice?: (message: string) => void;
  /** A folder for ONNX Runtime's profile (layer-times.ts). */
  profile?: string;
}

export interface ReadyModel {
  session: ort.InferenceSession;
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: string[];
  preprocess: Preprocess;
  /** Milliseconds from the files to a ready session. */
  loadMs: number;
  /** A Caffe net's layers in its order (its graph's nodes are named after them); none for an ONNX file. */
  layers?: string[];
}

export async function openModel(spec: ModelSpec): Promise<ReadyModel> {
  const start = performance.now();
  if (spec.onnx && (spec.model || spec.weights)) throw usageError('give either --onnx or --model/--weights, not both');
  if (spec.onnx) {
    const bytes = readFileSync(spec.onnx);
    const inputs = onnxInputs(bytes, spec.onnx);
    const session = await createSession(bytes, spec.device, undefined, spec.profile);
    return { session, inputs, outputs: [...session.outputNames], preprocess: { scale: 1, channelOrder: 'bgr' }, loadMs: performance.now() - start };
  }
  if (!spec.model) throw usageError('give the model: --model M.prototxt --weights W.caffemodel, or --onnx F.onnx');
  const model = spec.model;
  const load = (notice = spec.notice) => {
    const loaded = loadNet(model, { phase: 'TEST', inputs: spec.inputs, notice });
    if (spec.weights) loadWeights(loaded.net, spec.weights, { notice });
    else if (spec.randomWeights) fillRandomWeights(loaded.net);
    else throw usageError('--weights is needed to run a Caffe model', 'give the .caffemodel with --weights');
    return loaded;
  };
  const { net, param } = load();
  // The net is ours alone: its weights may be folded in place and handed to ONNX Runtime without a copy; on the
  // CPU the convolutions come laid out as ONNX Runtime runs them, which spares it that work at the session's start.
  const nchwcBlock = (spec.device?.kind ?? 'cpu') === 'cpu' ? await nchwcBlockSize() : undefined;
  const cuda = spec.device?.kind === 'cuda';
  let exported = exportOnnx(net, { dynamicBatch: spec.dynamicBatch, forSession: true, nchwcBlock, cuda });
  if (exported.skipped.length) spec.notice?.(`left out training-only layers: ${exported.skipped.join(', ')}`);
  let session: ort.InferenceSession;
  try {
    session = await createSession(exported.model, spec.device, exported.externalData, spec.profile);
  } catch (e) {
    if (!nchwcBlock) throw e;
    // A graph the layout did not foresee: the plain export (its weights were reordered in place, so read again).
    spec.notice?.(`ONNX Runtime refused the blocked layout (${(e as Error).message}); loading the plain graph`);
    exported = exportOnnx(load(() => {}).net, { dynamicBatch: spec.dynamicBatch, forSession: true, cuda });
    session = await createSession(exported.model, spec.device, exported.externalData, spec.profile);
  }
  return {
    session, inputs: exported.inputs.map((i) => ({ name: i.name, shape: i.shape ?? [] })), outputs: exported.outputs.map((o) => o.name),
    preprocess: preprocessFromNet(param, dirname(model)), loadMs: performance.now() - start, layers: net.layers.map((l) => l.name),
  };
}

/** The graph inputs of an ONNX file that are not initializers, with their shapes. */
function onnxInputs(bytes: Uint8Array, file: string): { name: string; shape: (number | string)[] }[] {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new CaffeToolError(`${file} is not an ONNX model: ${(e as Error).message}`);
  }
  const init = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  return (model.graph?.input ?? []).filter((i) => !init.has(i.name ?? '')).map((i) => ({
    name: i.name ?? '',
    shape: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))),
  }));
}
