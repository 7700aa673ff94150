// Message -> binary protobuf, as protobuf's C++ code writes it: known fields in field-number order, packed
// where the schema says so, then the unknown fields kept from the input. Typed arrays are written as bytes,
// straight from their memory.
import { CaffeToolError } from '../../errors.js';
import { checkFieldNames, isMessage, type Message, UNKNOWN_FIELDS } from '../message.js';
import type { FieldInfo, MessageInfo } from '../schema.js';
import { I32, I64, isPackable, LEN, wireTypeOf } from './wire.js';

/** Where encoded bytes go, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
}

/** The encoded size of a message in bytes. */
export function encodedSize(msg: Message, info: MessageInfo): number {
  return new Encoder(new Uint8Array(0)).size(msg, info);
}

/** Encode a message into one buffer. */
export function encodeMessage(msg: Message, info: MessageInfo): Uint8Array {
  const sizer = new Encoder(new Uint8Array(0));
  const total = sizer.size(msg, info);
  const enc = new Encoder(new Uint8Array(total), undefined, sizer.sizes);
  enc.message(msg, info);
  return enc.buf;
}

/** Encode a message to a sink in chunks of `chunk` bytes; large arrays go to the sink without a copy. Returns the size. */
export function encodeMessageTo(msg: Message, info: MessageInfo, sink: ByteSink, chunk = 1 << 20): number {
  const enc = new Encoder(new Uint8Array(chunk), sink);
  const total = enc.size(msg, info);
  enc.message(msg, info);
  enc.flush();
  return total;
}

/** Arrays at least this large skip the staging buffer when writing to a sink. */
const DIRECT_BYTES = 1 << 16;

class Encoder {
  pos = 0;
  /** Encoded sizes of the messages seen by size(), reused when writing their length prefixes. */
  sizes: Map<Message, number>;
  private readonly dv: DataView;

  constructor(public buf: Uint8Array, private readonly sink?: ByteSink, sizes?: Map<Message, number>) {
    this.sizes = sizes ?? new Map();
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  // ---- sizes ----

  size(msg: Message, info: MessageInfo): number {
    const known = this.sizes.get(msg);
    if (known !== undefined) return known;
    checkFieldNames(msg, info);
    let n = 0;
    for (const f of info.fields) {
      const v = msg[f.name];
      if (v === undefined || v === null) continue;
      try {
        n += this.fieldSize(f, v);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ path: f.name }) : e;
      }
    }
    for (const u of msg[UNKNOWN_FIELDS] ?? []) n += u.raw.length;
    this.sizes.set(msg, n);
    return n;
  }

  private fieldSize(f: FieldInfo, v: unknown): number {
    const keySize = varintSize((f.number << 3) >>> 0);
    if (!f.repeated) return keySize + this.valueSize(f, v);
    const items = repeatedItems(f, v);
    if (items.length === 0) return 0;
    if (f.packed && isPackable(f.kind)) {
      const body = this.packedSize(f, items);
      return keySize + varintSize(body) + body;
    }
    if (ArrayBuffer.isView(items)) return items.length * (keySize + (f.kind === 'float' ? 4 : 8));
    let n = 0;
    for (let i = 0; i < items.length; i++) {
      try {
        n += keySize + this.valueSize(f, items[i]);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ path: `[${i}]` }) : e;
      }
    }
    return n;
  }

  private packedSize(f: FieldInfo, items: ArrayLike<unknown>): number {
    if (ArrayBuffer.isView(items)) return (items as Float32Array).byteLength;
    const wire = wireTypeOf(f.kind);
    if (wire === I32) return items.length * 4;
    if (wire === I64) return items.length * 8;
    let n = 0;
    for (let i = 0; i < items.length; i++) n += this.valueSize(f, items[i]);
    return n;
  }

  private valueSize(f: FieldInfo, v: unknown): number {
    switch (f.kind) {
      case 'message': {
        if (!isMessage(v)) throw typeError(f, v);
        const n = this.size(v, f.message!);
        return varintSize(n) + n;
      }
      case 'string': case 'bytes': {
        const n = byteLength(f, v);
        return varintSize(n) + n;
      }
      case 'float': case 'fixed32': case 'sfixed32': return 4;
      case 'double': case 'fixed64': case 'sfixed64': return 8;
      case 'bool': return 1;
      default: return varintSize(integerOf(f, v));
    }
  }

  // ---- writing ----

  message(msg: Message, info: MessageInfo): void {
    for (const f of info.fields) {
      const v = msg[f.name];
      if (v !== undefined && v !== null) this.field(f, v);
    }
    for (const u of msg[UNKNOWN_FIELDS] ?? []) this.bytes(u.raw);
  }

  private field(f: FieldInfo, v: unknown): void {
    const key = (f.number << 3) >>> 0;
    if (!f.repeated) {
      this.value(f, v, key);
      return;
    }
    const items = repeatedItems(f, v);
    if (items.length === 0) return;
    if (f.packed && isPackable(f.kind)) {
      this.varint(key | LEN);
      this.varint(this.packedSize(f, items));
      if (ArrayBuffer.isView(items)) {
        const t = items as Float32Array;
        this.bytes(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
      } else {
        for (let i = 0; i < items.length; i++) this.scalar(f, items[i]);
      }
      return;
    }
    for (let i = 0; i < items.length; i++) this.value(f, items[i], key);
  }

  private value(f: FieldInfo, v: unknown, key: number): void {
    this.varint(key | wireTypeOf(f.kind));
    if (f.kind === 'message') {
      const m = v as Message;
      this.varint(this.size(m, f.message!));
      this.message(m, f.message!);
    } else if (f.kind === 'string' || f.kind === 'bytes') {
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array);
      this.varint(bytes.length);
      this.bytes(bytes);
    } else {
      this.scalar(f, v);
    }
  }

  private scalar(f: FieldInfo, v: unknown): void {
    switch (f.kind) {
      case 'float': this.room(4); this.dv.setFloat32(this.pos, realOf(f, v), true); this.pos += 4; return;
      case 'double': this.room(8); this.dv.setFloat64(this.pos, realOf(f, v), true); this.pos += 8; return;
      case 'fixed32': case 'sfixed32': this.fixed(BigInt(integerOf(f, v)), 4); return;
      case 'fixed64': case 'sfixed64': this.fixed(BigInt(integerOf(f, v)), 8); return;
      case 'bool': this.varint(v ? 1 : 0); return;
      default: this.varint(integerOf(f, v));
    }
  }

  private fixed(v: bigint, size: number): void {
    this.room(size);
    let x = BigInt.asUintN(size * 8, v);
    for (let i = 0; i < size; i++) {
      this.buf[this.pos++] = Number(x & 0xffn);
      x >>= 8n;
    }
  }

  /** Write a varint of a non-negative integer below 2^64 (negative values arrive already as 2^64 + v). */
  private varint(v: number | bigint): void {
    this.room(varintSize(v));
    const buf = this.buf;
    if (typeof v === 'number' && v < 0x80000000) {
      while (v > 0x7f) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    let x = BigInt(v);
    while (x > 0x7fn) {
      buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    buf[this.pos++] = Number(x);
  }

  private bytes(b: Uint8Array): void {
    if (this.sink && b.length >= DIRECT_BYTES) {
      this.flush();
      this.sink.write(b);
      return;
    }
    let off = 0;
    while (off < b.length) {
      this.room(1);
      const n = Math.min(b.length - off, this.buf.length - this.pos);
      this.buf.set(b.subarray(off, off + n), this.pos);
      this.pos += n;
      off += n;
    }
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      if (!this.sink) throw new Error('encoder buffer overrun: size and write disagree');
      this.flush();
    }
  }

  flush(): void {
    if (this.sink && this.pos > 0) {
      this.sink.write(this.buf.slice(0, this.pos));
      this.pos = 0;
    }
  }
}

function repeatedItems(f: FieldInfo, v: unknown): ArrayLike<unknown> {
  if (Array.isArray(v)) return v;
  if ((f.kind === 'float' && v instanceof Float32Array) || (f.kind === 'double' && v instanceof Float64Array)) return v;
  if (ArrayBuffer.isView(v) && (f.kind === 'float' || f.kind === 'double')) {
    return f.kind === 'float' ? Float32Array.from(v as unknown as ArrayLike<number>) : Float64Array.from(v as unknown as ArrayLike<number>);
  }
  throw new CaffeToolError(`repeated field ${f.name} needs an array, got ${describe(v)}`);
}

function byteLength(f: FieldInfo, v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (v instanceof Uint8Array) return v.length;
  throw typeError(f, v);
}

function realOf(f: FieldInfo, v: unknown): number {
  if (typeof v !== 'number') throw typeError(f, v);
  return v;
}

const TWO_64 = 1n << 64n;

/** The unsigned 64-bit integer a varint field writes for this value (zigzag and two's complement applied). */
function integerOf(f: FieldInfo, v: unknown): number | bigint {
  let n: number | bigint;
  if (f.kind === 'enum') {
    if (typeof v === 'string') {
      const num = f.enum!.byName.get(v);
      if (num === undefined) throw new CaffeToolError(`${f.name}: ${v} is not a value of ${f.enum!.name}`);
      n = num;
    } else if (typeof v === 'number' && Number.isInteger(v)) n = v;
    else throw typeError(f, v);
  } else if (typeof v === 'number' && Number.isInteger(v)) n = v;
  else if (typeof v === 'bigint') n = v;
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else throw typeError(f, v);
  checkRange(f, n);
  if (f.kind === 'sint32' || f.kind === 'sint64') {
    const b = BigInt(n);
    const z = b >= 0n ? b << 1n : ((-b) << 1n) - 1n;
    return z < 0x80000000n ? Number(z) : z;
  }
  if (typeof n === 'number' && n >= 0 && n < 0x80000000) return n;
  const b = BigInt(n);
  return b < 0n ? TWO_64 + b : b;
}

const RANGES: Partial<Record<string, [bigint, bigint]>> = {
  int32: [-(1n << 31n), (1n << 31n) - 1n], sint32: [-(1n << 31n), (1n << 31n) - 1n], sfixed32: [-(1n << 31n), (1n << 31n) - 1n],
  enum: [-(1n << 31n), (1n << 31n) - 1n],
  uint32: [0n, (1n << 32n) - 1n], fixed32: [0n, (1n << 32n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n], sint64: [-(1n << 63n), (1n << 63n) - 1n], sfixed64: [-(1n << 63n), (1n << 63n) - 1n],
  uint64: [0n, (1n << 64n) - 1n], fixed64: [0n, (1n << 64n) - 1n],
};

function checkRange(f: FieldInfo, n: number | bigint): void {
  const r = RANGES[f.kind];
  if (!r) return;
  if (typeof n === 'number' && n >= 0 && n < 0x80000000) return;
  const b = BigInt(n);
  if (b < r[0] || b > r[1]) throw new CaffeToolError(`${f.name}: ${n} is out of range for ${f.kind}`);
}

function varintSize(v: number | bigint): number {
  if (typeof v === 'number' && v < 0x80000000) {
    if (v < 0x80) return 1;
    if (v < 0x4000) return 2;
    if (v < 0x200000) return 3;
    if (v < 0x10000000) return 4;
    return 5;
  }
  let x = BigInt(v);
  let n = 1;
  while (x > 0x7fn) {
    x >>= 7n;
    n++;
  }
  return n;
}

function typeError(f: FieldInfo, v: unknown): CaffeToolError {
  const want = f.kind === 'message' ? `a ${f.message?.name} message` : f.kind === 'enum' ? `a ${f.enum?.name} name` : `a ${f.kind}`;
  return new CaffeToolError(`${f.name} needs ${want}, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v === 'string' ? `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'` : `${typeof v} ${String(v)}`;
}

