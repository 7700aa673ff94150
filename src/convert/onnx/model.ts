// OnnxGraph -> ONNX ModelProto bytes, in two forms. For a file (encodeModel) the small messages (model, nodes,
// inputs, outputs) go through onnx-proto and the initializers are written by hand straight into the one output
// buffer, so a weight is copied once (a folded one computed there) instead of through protobufjs's writer and
// its copies; protobuf lets a message's fields come in any order, so the output is ModelProto-without-graph,
// then the graph field = GraphProto-without-initializers + the initializer entries. For a session made at once
// (encodeForSession) the large weights stay where they are, as ONNX external data that ONNX Runtime reads
// from memory: no copy of the weights is made at all.
import onnxProto from 'onnx-proto';
import { CaffeToolError } from '../../errors.js';
import type { AttrValue, OnnxGraph, OnnxTensor, OnnxValue, TensorData } from './graph.js';

const { onnx } = onnxProto;
const AttrType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

/** IR version 8 is the one that goes with opsets 17 and 18 (ONNX 1.12/1.13). */
const IR_VERSION = 8;
/** protobuf cannot hold a message over 2 GiB; larger models need ONNX external data. */
const MAX_BYTES = 2 ** 31 - 1;

/** A float32 initializer written as source[k] * scale[o], o the output channel (the first axis) of element k. */
export interface ScaledWeight {
  source: Float32Array;
  scale: Float64Array;
}

// Wire tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const MODEL_GRAPH = (7 << 3) | 2;
const GRAPH_INITIALIZER = (5 << 3) | 2;
const TENSOR_DIMS = (1 << 3) | 0;
const TENSOR_DATA_TYPE = (2 << 3) | 0;
const TENSOR_NAME = (8 << 3) | 2;
const TENSOR_RAW_DATA = (9 << 3) | 2;

/**
 * The model's bytes. `scaled` names initializers whose values are computed while writing (see fold.ts): their
 * tensor's data is the unscaled source.
 */
export function encodeModel(g: OnnxGraph, meta: ModelMeta, scaled: ReadonlyMap<string, ScaledWeight> = new Map()): Uint8Array {
  const head = onnx.ModelProto.encode(modelHead(g, meta)).finish();
  const graph = onnx.GraphProto.encode(graphProto(g, meta)).finish();

  // Each initializer entry's length is known before it is written; where it lands only moves bytes inside it.
  const entries = g.initializers.map((t) => tensorEntry(t, scaled.get(t.name)));
  const graphLength = graph.length + entries.reduce((n, e) => n + e.length, 0);
  const total = head.length + 1 + varintSize(graphLength) + graphLength;
  if (total > MAX_BYTES) {
    throw new CaffeToolError(`the model takes ${(total / 2 ** 30).toFixed(2)} GiB: one ONNX file holds at most 2 GiB`, {
      hint: 'ONNX external data (weights beside the .onnx file) is not supported yet',
    });
  }
  const out = new Uint8Array(total);
  out.set(head, 0);
  let pos = head.length;
  out[pos++] = MODEL_GRAPH;
  pos = writeVarint(out, pos, graphLength);
  out.set(graph, pos);
  pos += graph.length;
  for (const e of entries) pos = e.write(out, pos);
  if (pos !== total) throw new Error(`encodeModel: wrote ${pos} of ${total} bytes`);
  return out;
}

/** A buffer ONNX Runtime reads external data from, under the name the model's tensors give as their location. */
export interface ExternalData {
  path: string;
  data: Uint8Array;
}

/** Float tensors from this size on are external data in encodeForSession. */
const EXTERNAL_BYTES = 1024;

/**
 * The model for an ONNX Runtime session created from it at once (`externalData` in the session options; ONNX
 * Runtime copies what it keeps, so the buffers may go after that). Scaled weights are written over their
 * source, which must be the caller's to change (runtime/model.ts exports a net loaded for that session only),
 * unless another initializer reads the same memory.
 */
export function encodeForSession(g: OnnxGraph, meta: ModelMeta, scaled: ReadonlyMap<string, ScaledWeight> = new Map()): { model: Uint8Array; externalData: ExternalData[] } {
  const externalData: ExternalData[] = [];
  const initializer = g.initializers.map((t, i): onnxProto.onnx.ITensorProto => {
    const scale = scaled.get(t.name);
    let data = t.data;
    if (scale) {
      data = sharesMemory(t, g.initializers) ? new Float32Array(scale.source.length) : scale.source;
      scaleInto(data, scale);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!(data instanceof Float32Array) || data.byteLength < EXTERNAL_BYTES) return { name: t.name, dims: t.dims, dataType: elemType(data), rawData: bytes };
    const path = `initializer_${i}`;
    externalData.push({ path, data: bytes });
    return {
      name: t.name, dims: t.dims, dataType: DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: path }, { key: 'offset', value: '0' }, { key: 'length', value: String(data.byteLength) }],
    };
  });
  const model = onnx.ModelProto.encode({ ...modelHead(g, meta), graph: { ...graphProto(g, meta), initializer } }).finish();
  return { model, externalData };
}

/** Whether another initializer's data overlaps t's. */
export function sharesMemory(t: OnnxTensor, all: readonly OnnxTensor[]): boolean {
  const start = t.data.byteOffset;
  const end = start + t.data.byteLength;
  return all.some((o) => o !== t && o.data.buffer === t.data.buffer && o.data.byteOffset < end && start < o.data.byteOffset + o.data.byteLength);
}

interface ModelMeta {
  name: string;
  producerVersion: string;
  doc?: string;
}

function modelHead(g: OnnxGraph, meta: ModelMeta): onnxProto.onnx.IModelProto {
  return {
    irVersion: IR_VERSION,
    producerName: 'caffe-tool',
    producerVersion: meta.producerVersion,
    docString: meta.doc ?? '',
    // ONNX Runtime's own domains, version 1, where a node uses them (the training graph's blocked convolutions).
    opsetImport: [{ domain: '', version: g.opset }, ...[...new Set(g.nodes.map((n) => n.domain ?? ''))].filter((d) => d).map((domain) => ({ domain, version: 1 }))],
  };
}

/** The graph without its initializers. */
function graphProto(g: OnnxGraph, meta: ModelMeta): onnxProto.onnx.IGraphProto {
  return {
    name: meta.name || 'caffe',
    node: g.nodes.map((n) => ({
      name: n.name, opType: n.op, input: n.inputs, output: n.outputs, domain: n.domain ?? '',
      attribute: Object.entries(n.attrs).map(([name, v]) => attribute(name, v)),
    })),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
  };
}

interface TensorEntry {
  /** Bytes of the whole GraphProto.initializer field: tag, length, TensorProto. */
  length: number;
  write(out: Uint8Array, pos: number): number;
}

/**
 * One GraphProto.initializer field. A scaled tensor's raw data is computed through a Float32Array, so its byte
 * offset must be a multiple of 4: the entry keeps 3 bytes of room, spent on writing data_type's varint (before
 * the data) and the name's length varint (after it) longer than they need, with 0x80 continuation bytes that
 * every protobuf parser reads as the same number. The entry's length does not depend on where it lands.
 */
function tensorEntry(t: OnnxTensor, scale: ScaledWeight | undefined): TensorEntry {
  const name = Buffer.from(t.name, 'utf8');
  const raw = t.data.byteLength;
  const type = elemType(t.data);
  const room = scale ? 3 : 0;
  const dims = t.dims.reduce((n, d) => n + 1 + varintSize(d), 0);
  const beforeData = dims + 1 + varintSize(type) + 1 + varintSize(raw);
  const body = beforeData + raw + 1 + varintSize(name.length) + name.length + room;
  const head = 1 + varintSize(body);
  return {
    length: head + body,
    write(out, start) {
      const pad = scale ? (4 - ((out.byteOffset + start + head + beforeData) % 4)) % 4 : 0;
      let pos = start;
      out[pos++] = GRAPH_INITIALIZER;
      pos = writeVarint(out, pos, body);
      for (const d of t.dims) {
        out[pos++] = TENSOR_DIMS;
        pos = writeVarint(out, pos, d);
      }
      out[pos++] = TENSOR_DATA_TYPE;
      pos = writeVarint(out, pos, type, varintSize(type) + pad);
      out[pos++] = TENSOR_RAW_DATA;
      pos = writeVarint(out, pos, raw);
      if (scale) scaleInto(new Float32Array(out.buffer, out.byteOffset + pos, raw / 4), scale);
      else out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, raw), pos);
      pos += raw;
      out[pos++] = TENSOR_NAME;
      pos = writeVarint(out, pos, name.length, varintSize(name.length) + room - pad);
      out.set(name, pos);
      return pos + name.length;
    },
  };
}

/** dst[k] = source[k] * scale[o] for output channel o (dst may be source); unrolled, it runs a third faster. */
function scaleInto(dst: Float32Array, { source, scale }: ScaledWeight): void {
  const perChannel = source.length / scale.length;
  for (let o = 0, k = 0; o < scale.length; o++) {
    const a = scale[o];
    const end = k + perChannel;
    for (const end4 = end - 3; k < end4; k += 4) {
      dst[k] = source[k] * a;
      dst[k + 1] = source[k + 1] * a;
      dst[k + 2] = source[k + 2] * a;
      dst[k + 3] = source[k + 3] * a;
    }
    for (; k < end; k++) dst[k] = source[k] * a;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A non-negative integer as a varint of exactly `width` bytes (at least its own size). */
function writeVarint(out: Uint8Array, pos: number, v: number, width = varintSize(v)): number {
  for (let i = 1; i < width; i++) {
    out[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'number') return { name, type: AttrType.INT, i: v };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  return { name, type: AttrType.FLOATS, floats: v.floats };
}

function elemType(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int32Array) return DataType.INT32;
  return DataType.UINT8;
}

function valueInfo(v: OnnxValue): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType ?? DataType.FLOAT,
        ...(v.shape ? { shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } : {}),
      },
    },
  };
}
