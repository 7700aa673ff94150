// Protobuf wire-format facts shared by the decoder and the encoder.
import { CaffeToolError } from '../../errors.js';
import type { FieldKind } from '../schema.js';

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

export const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit'];

/** The wire type a single (non-packed) value of this kind is written with. */
export function wireTypeOf(kind: FieldKind): number {
  switch (kind) {
    case 'double': case 'fixed64': case 'sfixed64': return I64;
    case 'float': case 'fixed32': case 'sfixed32': return I32;
    case 'string': case 'bytes': case 'message': return LEN;
    default: return VARINT;
  }
}

/** Kinds that may be packed: every scalar except strings, bytes and messages. */
export function isPackable(kind: FieldKind): boolean {
  return wireTypeOf(kind) !== LEN;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new CaffeToolError('caffe-tool needs a little-endian machine: Caffe files store floats little-endian');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A protobuf string: UTF-8 text, or its raw bytes when they are not valid UTF-8 (proto2 allows it). */
export function decodeString(bytes: Uint8Array): string | Uint8Array {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.length < 64 ? String.fromCharCode(...bytes) : Buffer.from(bytes).toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.slice();
  }
}

/** Combine a 64-bit varint's halves into a number, or a bigint when it is not exact as a number. */
export function int64FromHalves(lo: number, hi: number, signed: boolean): number | bigint {
  lo >>>= 0;
  if (signed && hi & 0x80000000) {
    // Two's complement: -(~value + 1).
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    const mag = nhi * 4294967296 + nlo;
    return nhi < 0x200000 ? -mag : -((BigInt(nhi) << 32n) | BigInt(nlo));
  }
  hi >>>= 0;
  return hi < 0x200000 ? hi * 4294967296 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

export interface FieldHead {
  number: number;
  wire: number;
  /** For LEN: where the value starts (relative to the field) and its length. */
  valueStart: number;
  length: number;
  /** For other wire types: where the field ends (relative). */
  valueEnd?: number;
}

/** Read one field's key (and length) at bytes[pos]; null when it is not a valid field. */
export function walkField(bytes: Uint8Array, pos: number): FieldHead | null {
  const key = varintAt(bytes, pos);
  if (!key) return null;
  const number = Math.floor(key.value / 8);
  const wire = key.value % 8;
  if (number === 0) return null;
  const at = key.next - pos;
  switch (wire) {
    case VARINT: {
      const v = varintAt(bytes, key.next);
      return v ? { number, wire, valueStart: at, length: 0, valueEnd: v.next - pos } : null;
    }
    case I64: return { number, wire, valueStart: at, length: 8, valueEnd: at + 8 };
    case I32: return { number, wire, valueStart: at, length: 4, valueEnd: at + 4 };
    case LEN: {
      const len = varintAt(bytes, key.next);
      return len ? { number, wire, valueStart: len.next - pos, length: len.value } : null;
    }
    default: return null;
  }
}

function varintAt(bytes: Uint8Array, pos: number): { value: number; next: number } | null {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) return null;
    const b = bytes[pos + i];
    if (i < 7) value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return { value, next: pos + i + 1 };
  }
  return null;
}
