// A BlobProto's shape and values, wherever the file keeps them: `shape` or the legacy num/channels/height/
// width, `data` (float), `double_data`, or OpenCV's `raw_data` (fp16/float/double).
import { CaffeToolError } from '../errors.js';
import type { Message } from './message.js';

/** As Caffe's Blob::FromProto: the legacy 4-D dims when any of them is set, else `shape`. */
export function blobShape(blob: Message): number[] {
  const legacy = ['num', 'channels', 'height', 'width'].map((k) => blob[k] as number | undefined);
  if (legacy.some((d) => d !== undefined)) return legacy.map((d) => d ?? 0);
  const shape = blob.shape as Message | undefined;
  return ((shape?.dim as (number | bigint)[] | undefined) ?? []).map(Number);
}

export function blobCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The blob's values as float32, without copying when they are stored as float32 `data`; `double_data` wins, as in Caffe. */
export function blobData(blob: Message): Float32Array {
  if (blob.double_data instanceof Float64Array && blob.double_data.length) return Float32Array.from(blob.double_data);
  if (blob.data instanceof Float32Array && blob.data.length) return blob.data;
  const raw = blob.raw_data as Uint8Array | undefined;
  if (raw && raw.length) return rawValues(raw, (blob.raw_data_type as string | undefined) ?? 'FLOAT');
  return new Float32Array(0);
}

function rawValues(raw: Uint8Array, type: string): Float32Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = { FLOAT16: 2, FLOAT: 4, DOUBLE: 8 }[type];
  if (!size) throw new CaffeToolError(`raw_data of type ${type} is not a floating-point blob`);
  if (raw.length % size) throw new CaffeToolError(`raw_data of ${raw.length} bytes is not a whole number of ${type} values`);
  const out = new Float32Array(raw.length / size);
  for (let i = 0; i < out.length; i++) {
    out[i] = size === 2 ? halfToFloat(dv.getUint16(2 * i, true)) : size === 4 ? dv.getFloat32(4 * i, true) : dv.getFloat64(8 * i, true);
  }
  return out;
}

/** IEEE 754 half precision to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
