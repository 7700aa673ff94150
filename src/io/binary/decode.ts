// Binary protobuf -> Message, driven by a dialect's schema. Blob data (packed floats) becomes a Float32Array
// view on the input bytes when they are aligned, a single copy when not; no JS number[] on the way.
import { CaffeToolError } from '../../errors.js';
import { isMessage, type Message, UNKNOWN_FIELDS } from '../message.js';
import type { FieldInfo, MessageInfo } from '../schema.js';
import { decodeString, EGROUP, I32, I64, int64FromHalves, isPackable, LEN, SGROUP, VARINT, WIRE_NAMES, wireTypeOf } from './wire.js';

/** Decode a whole message held in memory. `view` lets typed arrays share memory with `bytes`. */
export function decodeMessage(bytes: Uint8Array, info: MessageInfo, opts: { view?: boolean } = {}): Message {
  const msg: Message = {};
  decodeInto(msg, bytes, 0, bytes.length, info, opts.view ?? true);
  return msg;
}

/**
 * Decode the fields in bytes[start, end) into `target`, appending to repeated fields already there (the
 * streaming reader calls this for runs of small fields of one large message).
 */
export function decodeInto(
  target: Message, bytes: Uint8Array, start: number, end: number, info: MessageInfo, view: boolean, base = 0,
): void {
  new Decoder(bytes, view, base).fields(target, start, end, info);
}

/** Where in the file a decode failed, with the field path; the reader adds the file name. */
export class DecodeError extends CaffeToolError {}

type Chunks = Map<FieldInfo, (Float32Array | Float64Array | number)[]>;

class Decoder {
  private pos = 0;
  private lo = 0;
  private hi = 0;
  private readonly dv: DataView;

  /** `base` is where buf[0] sits in the file, for error messages. */
  constructor(private readonly buf: Uint8Array, private readonly view: boolean, private readonly base = 0) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fields(target: Message, start: number, end: number, info: MessageInfo): void {
    this.pos = start;
    let chunks: Chunks | undefined;
    while (this.pos < end) {
      const fieldStart = this.pos;
      this.varint(end);
      const key = this.lo >>> 0;
      const number = key >>> 3;
      const wire = key & 7;
      if (number === 0) throw this.error(`invalid field number 0 in ${info.name}`, fieldStart);
      const f = info.byNumber.get(number);
      if (!f) {
        this.skip(wire, end, info, number);
        const raw = this.buf.slice(fieldStart, this.pos);
        (target[UNKNOWN_FIELDS] ??= []).push({ number, wireType: wire, raw });
        continue;
      }
      const index = f.repeated ? ((target[f.name] as unknown[] | undefined)?.length ?? 0) : -1;
      try {
        if (f.repeated && (f.kind === 'float' || f.kind === 'double')) {
          chunks ??= new Map();
          const list = chunks.get(f) ?? [];
          chunks.set(f, list);
          list.push(this.realValues(f, wire, end));
        } else if (f.repeated && wire === LEN && isPackable(f.kind)) {
          const len = this.length(end);
          const stop = this.pos + len;
          const arr = (target[f.name] ??= []) as unknown[];
          while (this.pos < stop) arr.push(this.scalar(f, wireTypeOf(f.kind), stop));
          if (this.pos !== stop) throw this.error(`packed ${f.name} overruns its length`, fieldStart);
        } else {
          const value = f.kind === 'message' ? this.message(f, wire, end) : this.scalar(f, wire, end);
          if (f.repeated) ((target[f.name] ??= []) as unknown[]).push(value);
          else if (f.kind === 'message' && target[f.name] !== undefined) mergeMessage(target[f.name] as Message, value as Message);
          else target[f.name] = value;
        }
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ path: index < 0 ? f.name : `${f.name}[${index}]` }) : e;
      }
    }
    if (this.pos !== end) throw this.error(`${info.name} overruns its length`, this.pos);
    if (chunks) for (const [f, list] of chunks) target[f.name] = joinReals(f, target[f.name], list);
  }

  private message(f: FieldInfo, wire: number, end: number): Message {
    this.expectWire(f, wire, LEN);
    const len = this.length(end);
    const stop = this.pos + len;
    const sub: Message = {};
    this.fields(sub, this.pos, stop, f.message!);
    return sub;
  }

  /** Float or double values of a repeated field: a packed run (a typed array) or one unpacked value. */
  private realValues(f: FieldInfo, wire: number, end: number): Float32Array | Float64Array | number {
    const size = f.kind === 'float' ? 4 : 8;
    if (wire !== LEN) return this.scalar(f, wire, end) as number;
    const len = this.length(end);
    if (len % size !== 0) throw this.error(`packed ${f.kind} data of ${len} bytes is not a multiple of ${size}`, this.pos);
    const at = this.buf.byteOffset + this.pos;
    this.pos += len;
    const Ctor = f.kind === 'float' ? Float32Array : Float64Array;
    if (this.view && at % size === 0) return new Ctor(this.buf.buffer as ArrayBuffer, at, len / size);
    return new Ctor(this.buf.buffer.slice(at, at + len) as ArrayBuffer);
  }

  private scalar(f: FieldInfo, wire: number, end: number): unknown {
    this.expectWire(f, wire, wireTypeOf(f.kind));
    switch (f.kind) {
      case 'int32': this.varint(end); return this.lo | 0;
      case 'uint32': this.varint(end); return this.lo >>> 0;
      case 'sint32': this.varint(end); return (this.lo >>> 1) ^ -(this.lo & 1);
      case 'int64': this.varint(end); return int64FromHalves(this.lo, this.hi, true);
      case 'uint64': this.varint(end); return int64FromHalves(this.lo, this.hi, false);
      case 'sint64': {
        this.varint(end);
        const sign = -(this.lo & 1);
        const lo = ((this.lo >>> 1) | (this.hi << 31)) ^ sign;
        const hi = (this.hi >>> 1) ^ sign;
        return int64FromHalves(lo, hi, true);
      }
      case 'bool': this.varint(end); return (this.lo | this.hi) !== 0;
      case 'enum': {
        this.varint(end);
        const n = this.lo | 0;
        return f.enum!.byNumber.get(n) ?? n;
      }
      case 'float': return this.dv.getFloat32(this.fixed(4, end), true);
      case 'double': return this.dv.getFloat64(this.fixed(8, end), true);
      case 'fixed32': return this.dv.getUint32(this.fixed(4, end), true);
      case 'sfixed32': return this.dv.getInt32(this.fixed(4, end), true);
      case 'fixed64': case 'sfixed64': {
        const at = this.fixed(8, end);
        return int64FromHalves(this.dv.getUint32(at, true), this.dv.getUint32(at + 4, true), f.kind === 'sfixed64');
      }
      case 'string': case 'bytes': {
        const len = this.length(end);
        const bytes = this.buf.subarray(this.pos, this.pos + len);
        this.pos += len;
        return f.kind === 'string' ? decodeString(bytes) : this.view ? bytes : bytes.slice();
      }
      default:
        throw this.error(`${f.name} is a message where a scalar was expected`, this.pos);
    }
  }

  private expectWire(f: FieldInfo, wire: number, expected: number): void {
    if (wire === expected) return;
    throw this.error(
      `field ${f.number} (${f.name}) has wire type ${WIRE_NAMES[wire] ?? wire}, but the schema says ${f.kind} (${WIRE_NAMES[expected]})`,
      this.pos,
      'the file is damaged, or it was written by a Caffe fork whose schema differs here: try --dialect NAME',
    );
  }

  private skip(wire: number, end: number, info: MessageInfo, number: number): void {
    switch (wire) {
      case VARINT: this.varint(end); return;
      case I64: this.fixed(8, end); return;
      case I32: this.fixed(4, end); return;
      case LEN: this.pos += this.length(end); return;
      case SGROUP: case EGROUP:
        throw this.error(`field ${number} of ${info.name} uses protobuf groups, which no Caffe schema has`, this.pos);
      default:
        throw this.error(`field ${number} of ${info.name} has invalid wire type ${wire}`, this.pos);
    }
  }

  private fixed(size: number, end: number): number {
    const at = this.pos;
    if (at + size > end) throw this.truncated(size, end - at);
    this.pos += size;
    return at;
  }

  private length(end: number): number {
    this.varint(end);
    const len = this.hi === 0 ? this.lo >>> 0 : Infinity;
    if (len > end - this.pos) throw this.truncated(len, end - this.pos);
    return len;
  }

  /** Read a varint into lo/hi (its low and high 32 bits). */
  private varint(end: number): void {
    const buf = this.buf;
    let b = buf[this.pos];
    if (b < 0x80 && this.pos < end) {
      this.pos++;
      this.lo = b;
      this.hi = 0;
      return;
    }
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw this.truncated(1, 0);
      b = buf[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) {
        this.lo = lo;
        this.hi = hi;
        return;
      }
    }
    throw this.error('malformed varint (more than 10 bytes)', this.pos);
  }

  private truncated(need: number, have: number): DecodeError {
    return this.error(
      need === Infinity ? 'absurd length (over 4 GiB) for one field' : `truncated: a field needs ${need} bytes but only ${have} remain`,
      this.pos,
      'the file is cut short or is not a Caffe binary file',
    );
  }

  private error(message: string, at: number, hint?: string): DecodeError {
    return new DecodeError(`${message} (at byte ${this.base + at})`, { hint });
  }
}

/** Protobuf merges a singular message field given twice: repeated fields append, messages merge. */
export function mergeMessage(into: Message, from: Message): void {
  for (const [k, v] of Object.entries(from)) {
    const old = into[k];
    if (Array.isArray(old) && Array.isArray(v)) old.push(...v);
    else if (old instanceof Float32Array && v instanceof Float32Array) into[k] = concatReals(Float32Array, [old, v]);
    else if (old instanceof Float64Array && v instanceof Float64Array) into[k] = concatReals(Float64Array, [old, v]);
    else if (isMessage(old) && isMessage(v)) mergeMessage(old, v);
    else into[k] = v;
  }
  const unknown = from[UNKNOWN_FIELDS];
  if (unknown) (into[UNKNOWN_FIELDS] ??= []).push(...unknown);
}

/** A repeated float/double field's value after more values arrived for it. */
export function joinReals(f: FieldInfo, existing: unknown, list: (Float32Array | Float64Array | number)[]): Float32Array | Float64Array {
  const Ctor = f.kind === 'float' ? Float32Array : Float64Array;
  const parts = existing instanceof Ctor && existing.length ? [existing, ...list] : list;
  if (parts.length === 1 && typeof parts[0] !== 'number') return parts[0];
  return concatReals(Ctor, parts);
}

function concatReals<T extends Float32ArrayConstructor | Float64ArrayConstructor>(
  Ctor: T, parts: (Float32Array | Float64Array | number)[],
): InstanceType<T> {
  let n = 0;
  for (const p of parts) n += typeof p === 'number' ? 1 : p.length;
  const out = new Ctor(n) as InstanceType<T>;
  let i = 0;
  for (const p of parts) {
    if (typeof p === 'number') out[i++] = p;
    else {
      out.set(p, i);
      i += p.length;
    }
  }
  return out;
}
