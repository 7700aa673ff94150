// OnnxGraph -> ONNX ModelProto bytes, through onnx-proto (it has every message the exporter writes; tensors
// go in raw_data, straight from their typed arrays).
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

export function encodeModel(g: OnnxGraph, meta: { name: string; producerVersion: string; doc?: string }): Uint8Array {
  const bytes = g.initializers.reduce((n, t) => n + t.data.byteLength, 0);
  if (bytes > MAX_BYTES) {
    throw new CaffeToolError(`the model's weights take ${(bytes / 2 ** 30).toFixed(2)} GiB: one ONNX file holds at most 2 GiB`, {
      hint: 'ONNX external data (weights beside the .onnx file) is not supported yet',
    });
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'caffe-tool',
    producerVersion: meta.producerVersion,
    docString: meta.doc ?? '',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: g.opset })],
    graph: onnx.GraphProto.create({
      name: meta.name || 'caffe',
      node: g.nodes.map((n) =>
        onnx.NodeProto.create({
          name: n.name, opType: n.op, input: n.inputs, output: n.outputs, domain: n.domain ?? '',
          attribute: Object.entries(n.attrs).map(([name, v]) => attribute(name, v)),
        }),
      ),
      initializer: g.initializers.map(tensor),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    }),
  });
  return onnx.ModelProto.encode(model).finish();
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

function tensor(t: OnnxTensor): onnxProto.onnx.ITensorProto {
  return {
    name: t.name,
    dims: t.dims,
    dataType: elemType(t.data),
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
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
