// A Caffe net with its weights -> an ONNX model: data layers become graph inputs, every other layer emits its
// own nodes (toOnnx in its file in src/layers/), training-only layers are left out, and the blobs nobody
// reads are the outputs, under their Caffe names.
import { createRequire } from 'node:module';
import { CaffeToolError } from '../errors.js';
import { blobData } from '../io/blob.js';
import { count, formatShape } from '../layers/shape.js';
import type { OnnxContext, Shape } from '../layers/types.js';
import type { Net, NetBlob, NetLayer } from '../net/net.js';
import { OnnxGraph, type OnnxValue } from './onnx/graph.js';
import { foldConvAffine } from './onnx/fold.js';
import { encodeForSession, encodeModel, type ExternalData, type ScaledWeight } from './onnx/model.js';
import { layoutNchwc } from './onnx/nchwc.js';

export const DEFAULT_OPSET = 17;
export const MIN_OPSET = 13;
/** The newest opset the bundled ONNX Runtime runs. */
export const MAX_OPSET = 21;

export interface ExportOptions {
  opset?: number;
  /** Make the batch axis of inputs and outputs symbolic ('N'). */
  dynamicBatch?: boolean;
  /** Blobs to output (their last version) instead of the ones no layer reads. */
  outputs?: string[];
  /** Fold BatchNorm/Scale/Bias into the convolution before them (default true). */
  fold?: boolean;
  /**
   * For an ONNX Runtime session created at once: the large weights come back as `externalData` (give it to
   * createSession) instead of inside `model`, and folding writes into the net's own weight arrays: the net's
   * weights are changed, so the net must not be used after that.
   */
  forSession?: boolean;
  /**
   * With forSession, for ONNX Runtime's CPU provider: its NCHWc block size here (runtime/nchwc.ts). The convolutions
   * are laid out blocked, as ONNX Runtime would do at the session's start (onnx/nchwc.ts).
   */
  nchwcBlock?: number;
  /** For ONNX Runtime's CUDA provider: none of the ops or attributes it runs on the CPU (OnnxContext.cpu). */
  cuda?: boolean;
}

export interface OnnxExport {
  model: Uint8Array;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** Layers left out because they only matter in training. */
  skipped: string[];
  /** With forSession: the buffers `model`'s external tensors name. */
  externalData?: ExternalData[];
}

/** Nets whose weights a forSession export folded in place: exporting them again would fold twice. */
const consumed = new WeakSet<Net>();

export function exportOnnx(net: Net, opts: ExportOptions = {}): OnnxExport {
  if (consumed.has(net)) throw new Error(`exportOnnx: the net '${net.name}' was exported forSession already, which changed its weights`);
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new CaffeToolError(`opset ${opset} is not supported: use ${MIN_OPSET} to ${MAX_OPSET}`, { exitCode: 2 });
  }
  const dynamicBatch = opts.dynamicBatch ?? false;
  const g = new OnnxGraph(opset);
  const exported = net.layers.filter((l) => !l.def.trainingOnly && !l.def.source);
  const skipped = net.layers.filter((l) => l.def.trainingOnly).map((l) => l.name);
  refuseUnexportable(exported);

  // Which blob versions the exported layers read, and which of them come from data layers or net inputs.
  const read = new Set<NetBlob>(exported.flatMap((l) => l.bottoms));
  const names = onnxNames(net, read);
  for (const b of net.blobVersions) {
    g.claim(names.get(b)!);
    if (isSource(net, b) && read.has(b)) g.inputs.push({ name: names.get(b)!, shape: valueShape(b, dynamicBatch) });
  }

  for (const l of exported) {
    const ctx = onnxContext(l, g, names, dynamicBatch, net, !opts.cuda);
    try {
      l.def.toOnnx!(ctx);
    } catch (e) {
      throw e instanceof CaffeToolError ? new CaffeToolError(`cannot export ${l.type} layer: ${e.message}`, { where: { layer: l.name }, hint: e.hint }) : e;
    }
  }

  // Outputs: the last version of every blob that no exported layer reads, or the blobs asked for.
  const last = net.blobs();
  for (const name of opts.outputs ?? []) {
    const b = last.get(name);
    if (!b || isSource(net, b) || net.layers[b.producer].def.trainingOnly) {
      throw new CaffeToolError(`cannot output '${name}': no exported layer produces it`, { hint: `blobs: ${[...last.keys()].join(', ')}` });
    }
  }
  for (const [, b] of last) {
    if (isSource(net, b) || net.layers[b.producer].def.trainingOnly) continue;
    if (opts.outputs ? opts.outputs.includes(b.name) : !read.has(b)) {
      // With a symbolic batch the output shapes are left to ONNX Runtime's inference.
      g.outputs.push({ name: names.get(b)!, ...(dynamicBatch ? {} : { shape: valueShape(b, false) }) });
    }
  }
  g.prune();
  const scaled = opts.fold ?? true ? foldConvAffine(g) : new Map<string, ScaledWeight>();
  // Both write into the net's own weight arrays (forSession): exporting the net again would do it twice.
  const changesWeights = scaled.size > 0 || !!opts.nchwcBlock;
  if (opts.forSession && opts.nchwcBlock) {
    const shapes = new Map(net.blobVersions.filter((b) => b.shape).map((b) => [names.get(b)!, b.shape!]));
    layoutNchwc(g, opts.nchwcBlock, scaled, shapes);
  }
  const meta = { name: net.name, producerVersion: VERSION, doc: `Exported by caffe-tool from the Caffe net '${net.name}' (${net.dialect}, ${net.state.phase})` };
  if (opts.forSession) {
    if (changesWeights) consumed.add(net);
    return { ...encodeForSession(g, meta, scaled), inputs: g.inputs, outputs: g.outputs, skipped };
  }
  return { model: encodeModel(g, meta, scaled), inputs: g.inputs, outputs: g.outputs, skipped };
}

const VERSION: string = createRequire(import.meta.url)('../../../package.json').version;

function refuseUnexportable(layers: NetLayer[]): void {
  const problems: string[] = [];
  for (const l of layers) {
    if (!l.def.toOnnx) problems.push(`layer '${l.name}' (${l.type}): ${l.def.noOnnx ?? 'the ONNX exporter does not support this layer type yet'}`);
    else if (l.tops.some((t) => !t.shape) || l.bottoms.some((b) => !b.shape)) {
      problems.push(`layer '${l.name}' (${l.type}): ${l.unknown ?? 'its shapes are unknown'} (give the input shapes with --input NAME=N,C,H,W; with run, time and serve, --shape NAME=N,C,H,W)`);
    } else if (l.learned?.length && !l.weights) {
      problems.push(`layer '${l.name}' (${l.type}) has no weights: give a .caffemodel that has this layer (--weights)`);
    }
  }
  if (problems.length) throw new CaffeToolError(`the net cannot be exported to ONNX:\n  ${problems.join('\n  ')}`);
}

/** ONNX needs one name per value: every version of a blob gets its own, and the last keeps the Caffe name. */
function onnxNames(net: Net, read: Set<NetBlob>): Map<NetBlob, string> {
  const names = new Map<NetBlob, string>();
  for (const [name, last] of net.blobs()) {
    const versions = net.blobVersions.filter((v) => v.name === name);
    const inputKeepsName = isSource(net, versions[0]) && read.has(versions[0]);
    for (const v of versions) {
      if (v === versions[0] && inputKeepsName) names.set(v, name);
      // An input changed in place: the input keeps the name, so the result cannot.
      else if (v === last) names.set(v, inputKeepsName ? `${name}__out` : name);
      else names.set(v, `${name}__v${v.version}`);
    }
  }
  return names;
}

function isSource(net: Net, b: NetBlob): boolean {
  return b.producer === -1 || net.layers[b.producer].def.source === true;
}

function valueShape(b: NetBlob, dynamicBatch: boolean): (number | string)[] {
  if (!b.shape) throw new CaffeToolError(`the shape of '${b.name}' is unknown: give it with --input ${b.name}=N,C,H,W`);
  return dynamicBatch && b.shape.length ? ['N', ...b.shape.slice(1)] : [...b.shape];
}

function onnxContext(l: NetLayer, g: OnnxGraph, names: Map<NetBlob, string>, dynamicBatch: boolean, net: Net, cpu: boolean): OnnxContext {
  const learned = l.learned ?? [];
  const weights = (l.weights ?? []).map((b, i) => {
    const data = blobData(b);
    const want = count(learned[i].shape);
    if (data.length !== want) throw new CaffeToolError(`blob ${i} holds ${data.length} values, ${formatShape(learned[i].shape)} needs ${want}`, { where: { layer: l.name } });
    return data;
  });
  return layerOnnxContext(net, l, g, names, {
    weights, dynamicBatch, cpu,
    weight: (i, dims) => g.initializer(`${l.name}_${learned[i].role}`, weights[i], dims ?? learned[i].shape),
  });
}

/** What a layer's toOnnx sees; the caller says how its learned blobs become ONNX values (initializers, fed params). */
export function layerOnnxContext<T extends Pick<OnnxContext, 'weights' | 'dynamicBatch' | 'weight' | 'train' | 'cpu'>>(
  net: Net, l: NetLayer, g: OnnxGraph, names: Map<NetBlob, string>, blobs: T,
): OnnxContext & T {
  return {
    name: l.name, type: l.type, layer: l.layer, dialect: net.dialect, phase: net.state.phase,
    bottoms: l.bottoms.map((b) => b.name), tops: l.tops.map((t) => t.name),
    inputs: l.bottoms.map((b) => b.shape as Shape),
    outputs: l.tops.map((t) => t.shape as Shape),
    param: (field: string) => net.params(l, field),
    g, x: l.bottoms.map((b) => names.get(b)!), y: l.tops.map((t) => names.get(t)!),
    learned: l.learned ?? [],
    ...blobs,
  };
}
