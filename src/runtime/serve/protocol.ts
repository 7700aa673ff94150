// The Open Inference Protocol (KServe v2) over REST, as Triton and KServe speak it: metadata documents, the
// inference request (JSON tensors, flat or nested, or the binary tensor data extension: a JSON header of
// Inference-Header-Content-Length bytes, then each binary input's bytes, little-endian, in input order) and
// the inference response (binary outputs appended after the JSON when asked with `binary_data`).
import { count } from '../../layers/shape.js';
import type { Tensors } from './batcher.js';
import { HttpError } from './http.js';
import type { ServedModel, TensorMeta } from './models.js';

export const SERVER_NAME = 'caffe-tool';
export const EXTENSIONS = ['binary_tensor_data'];
/** Every tensor the server takes and gives: Caffe is float32 end to end. */
export const DATATYPE = 'FP32';
export const PLATFORM = 'onnxruntime_onnx';

export function modelMetadata(m: ServedModel) {
  const meta = (t: TensorMeta) => ({ name: t.name, datatype: DATATYPE, shape: t.shape });
  return { name: m.name, versions: [m.version], platform: PLATFORM, inputs: m.inputs.map(meta), outputs: m.outputs.map(meta) };
}

export interface InferRequest {
  id?: string;
  inputs: Tensors;
  /** The outputs to return, in order, and whether each goes as binary data. */
  outputs: { name: string; binary: boolean }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check an inference request against the model; every refusal says what was wrong. */
export function parseInferRequest(body: Buffer, headerLength: string | undefined, m: ServedModel, maxBatch: number): InferRequest {
  let jsonBytes: Buffer = body;
  let binary: Buffer = Buffer.alloc(0);
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    if (!Number.isInteger(n) || n < 0 || n > body.length) {
      throw new HttpError(400, `Inference-Header-Content-Length is '${headerLength}': it must be the JSON header's size in bytes, at most the body's ${body.length}`);
    }
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(jsonBytes.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the request is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new HttpError(400, 'the request must be a JSON object with "inputs"');
  if (!Array.isArray(doc.inputs) || !doc.inputs.length) throw new HttpError(400, 'the request has no "inputs": give an array of {name, shape, datatype, data}');
  const params = isObject(doc.parameters) ? doc.parameters : {};

  const known = new Map(m.inputs.map((i) => [i.name, i]));
  const inputs: Tensors = {};
  let binaryAt = 0;
  let batch: number | undefined;
  for (const [k, raw] of doc.inputs.entries()) {
    if (!isObject(raw) || typeof raw.name !== 'string') throw new HttpError(400, `inputs[${k}] must be an object with a "name"`);
    const name = raw.name;
    const meta = known.get(name);
    if (!meta) throw new HttpError(400, `unknown input '${name}': the model '${m.name}' takes ${m.inputs.map((i) => `'${i.name}'`).join(', ')}`);
    if (inputs[name]) throw new HttpError(400, `the input '${name}' is given twice`);
    if (raw.datatype !== DATATYPE) throw new HttpError(400, `the input '${name}' has datatype ${JSON.stringify(raw.datatype)}: the model takes ${DATATYPE}`);
    const dims = checkShape(name, raw.shape, meta, m.dynamicBatch, maxBatch);
    if (batch !== undefined && dims[0] !== batch) throw new HttpError(400, `the input '${name}' has a batch of ${dims[0]}, the other inputs ${batch}`);
    batch = dims[0];
    const size = count(dims);
    const inputParams = isObject(raw.parameters) ? raw.parameters : {};
    let data: Float32Array;
    if (inputParams.binary_data_size !== undefined) {
      const bytes = inputParams.binary_data_size;
      if (raw.data !== undefined) throw new HttpError(400, `the input '${name}' has both "data" and a binary_data_size: give one`);
      if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) throw new HttpError(400, `the input '${name}': binary_data_size must be a byte count`);
      if (bytes !== size * 4) throw new HttpError(400, `the input '${name}' has binary_data_size ${bytes}: shape [${dims.join(', ')}] in FP32 is ${size * 4} bytes`);
      if (binaryAt + bytes > binary.length) {
        throw new HttpError(400, `the input '${name}' needs ${bytes} bytes of binary data, only ${binary.length - binaryAt} are left after the JSON header${headerLength === undefined ? ' (no Inference-Header-Content-Length header was sent)' : ''}`);
      }
      // A copy: the body's bytes need not be 4-byte aligned.
      data = new Float32Array(size);
      new Uint8Array(data.buffer).set(binary.subarray(binaryAt, binaryAt + bytes));
      binaryAt += bytes;
    } else {
      if (raw.data === undefined) throw new HttpError(400, `the input '${name}' has no "data" (nor a binary_data_size)`);
      data = flattenData(name, raw.data, size, dims);
    }
    inputs[name] = { data, dims };
  }
  if (binaryAt !== binary.length) {
    throw new HttpError(400, `${binary.length} bytes follow the JSON header but the inputs' binary_data_size add up to ${binaryAt}`);
  }
  const missing = m.inputs.filter((i) => !inputs[i.name]);
  if (missing.length) throw new HttpError(400, `missing input${missing.length > 1 ? 's' : ''} ${missing.map((i) => `'${i.name}'`).join(', ')} of the model '${m.name}'`);

  const allBinary = params.binary_data_output === true;
  let outputs: InferRequest['outputs'];
  if (doc.outputs === undefined) outputs = m.outputs.map((o) => ({ name: o.name, binary: allBinary }));
  else {
    if (!Array.isArray(doc.outputs)) throw new HttpError(400, '"outputs" must be an array of {name, parameters}');
    const names = new Set(m.outputs.map((o) => o.name));
    outputs = doc.outputs.map((o, k) => {
      if (!isObject(o) || typeof o.name !== 'string') throw new HttpError(400, `outputs[${k}] must be an object with a "name"`);
      if (!names.has(o.name)) throw new HttpError(400, `unknown output '${o.name}': the model '${m.name}' gives ${m.outputs.map((x) => `'${x.name}'`).join(', ')}`);
      const p = isObject(o.parameters) ? o.parameters : {};
      return { name: o.name, binary: typeof p.binary_data === 'boolean' ? p.binary_data : allBinary };
    });
  }
  const id = typeof doc.id === 'string' ? doc.id : undefined;
  return { ...(id !== undefined ? { id } : {}), inputs, outputs };
}

function checkShape(name: string, shape: unknown, meta: TensorMeta, dynamicBatch: boolean, maxBatch: number): number[] {
  const want = `[${meta.shape.join(', ')}]`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new HttpError(400, `the input '${name}' needs a "shape": an array of sizes such as ${want}`);
  }
  const dims = shape as number[];
  if (dims.length !== meta.shape.length || dims.some((d, k) => meta.shape[k] > 0 && d !== meta.shape[k] && !(k === 0 && dynamicBatch))) {
    throw new HttpError(400, `the input '${name}' has shape [${dims.join(', ')}]: the model takes ${want}${dynamicBatch ? ' (-1: any batch)' : ''}`);
  }
  if (dims.some((d) => d === 0)) throw new HttpError(400, `the input '${name}' has shape [${dims.join(', ')}]: every size must be at least 1`);
  if (dynamicBatch && dims[0] > maxBatch) throw new HttpError(400, `the input '${name}' has a batch of ${dims[0]}, more than the server's --max-batch ${maxBatch}`);
  return dims;
}

/** JSON data, flat or nested (no deeper than the shape), to float32; the element count must be the shape's. */
function flattenData(name: string, data: unknown, size: number, dims: number[]): Float32Array {
  const out = new Float32Array(size);
  let n = 0;
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= dims.length) throw new HttpError(400, `the input '${name}' has data nested deeper than its ${dims.length} axes`);
      for (const x of v) walk(x, depth + 1);
      return;
    }
    if (typeof v !== 'number') throw new HttpError(400, `the input '${name}' holds ${JSON.stringify(v)?.slice(0, 40)}: FP32 data must be numbers`);
    if (n < size) out[n] = v;
    n++;
  };
  walk(data, 0);
  if (n !== size) throw new HttpError(400, `the input '${name}' has ${n} values: shape [${dims.join(', ')}] needs ${size}`);
  return out;
}

/** The response: its JSON, and the binary outputs' bytes to append after it, in output order. */
export function inferResponse(m: ServedModel, req: InferRequest, results: Tensors): { json: Buffer; binary: Buffer[] } {
  const binary: Buffer[] = [];
  const outputs = req.outputs.map(({ name, binary: asBinary }) => {
    const t = results[name];
    const head = { name, datatype: DATATYPE, shape: t.dims };
    if (!asBinary) return { ...head, data: Array.from(t.data) };
    binary.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return { ...head, parameters: { binary_data_size: t.data.byteLength } };
  });
  const doc = { model_name: m.name, model_version: m.version, ...(req.id !== undefined ? { id: req.id } : {}), outputs };
  return { json: Buffer.from(JSON.stringify(doc)), binary };
}
