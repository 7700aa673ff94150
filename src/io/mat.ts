// MATLAB MAT-files, level 5 (what MATLAB's save -v6/-v7 and scipy.io.savemat write): a 128-byte header, then
// data elements. Read: numeric arrays of every class (double, single, int8..uint64, logical), char arrays,
// struct and cell arrays, and zlib-compressed elements (miCOMPRESSED, v7). Written: numeric arrays, with or
// without compression. A v7.3 file is HDF5: src/io/mat73.ts reads it into the same MatFile. Anything else (sparse, objects, function
// handles) is kept as `unsupported` and refused, with the variable and byte offset, only when it is used.
import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { CaffeToolError } from '../errors.js';
import { writeAll, writeAtomic } from './atomic.js';

// Data types of data elements (the tag's first word).
const miINT8 = 1;
const miUINT8 = 2;
const miINT16 = 3;
const miUINT16 = 4;
const miINT32 = 5;
const miUINT32 = 6;
const miSINGLE = 7;
const miDOUBLE = 9;
const miINT64 = 12;
const miUINT64 = 13;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const miUTF8 = 16;
const miUTF16 = 17;
const miUTF32 = 18;

const MI_NAMES: Record<number, string> = {
  1: 'miINT8', 2: 'miUINT8', 3: 'miINT16', 4: 'miUINT16', 5: 'miINT32', 6: 'miUINT32', 7: 'miSINGLE', 9: 'miDOUBLE',
  12: 'miINT64', 13: 'miUINT64', 14: 'miMATRIX', 15: 'miCOMPRESSED', 16: 'miUTF8', 17: 'miUTF16', 18: 'miUTF32',
};
const MI_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4 };

/** Array classes (mxCLASS), the low byte of the array flags. */
const CLASS_NAMES: Record<number, string> = {
  1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double', 7: 'single', 8: 'int8', 9: 'uint8',
  10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64', 16: 'function', 17: 'opaque',
};

export type NumericClass = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';
export type NumericData =
  | Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

const NUMERIC: Record<NumericClass, { mx: number; mi: number; make: (n: number) => NumericData }> = {
  double: { mx: 6, mi: miDOUBLE, make: (n) => new Float64Array(n) },
  single: { mx: 7, mi: miSINGLE, make: (n) => new Float32Array(n) },
  int8: { mx: 8, mi: miINT8, make: (n) => new Int8Array(n) },
  uint8: { mx: 9, mi: miUINT8, make: (n) => new Uint8Array(n) },
  int16: { mx: 10, mi: miINT16, make: (n) => new Int16Array(n) },
  uint16: { mx: 11, mi: miUINT16, make: (n) => new Uint16Array(n) },
  int32: { mx: 12, mi: miINT32, make: (n) => new Int32Array(n) },
  uint32: { mx: 13, mi: miUINT32, make: (n) => new Uint32Array(n) },
  int64: { mx: 14, mi: miINT64, make: (n) => new BigInt64Array(n) },
  uint64: { mx: 15, mi: miUINT64, make: (n) => new BigUint64Array(n) },
};

interface Located {
  /** Byte offset of the array's element in the file (for arrays inside a compressed element: of that element). */
  offset: number;
  /** For a v7.3 (HDF5) file: the array's HDF5 object path (/conv1_w, /conv1/w); offset is then 0. */
  hdf5?: string;
}

/** Where an array is, for messages: its element's byte offset (v5) or its HDF5 object (v7.3). */
export function arrayPlace(a: Located): string {
  return a.hdf5 ? `HDF5 object ${a.hdf5}` : `element at byte ${a.offset}`;
}

/** A numeric (or logical) array: `data` in MATLAB's column-major order, dims as MATLAB reports them (size()). */
export interface MatNumeric extends Located {
  kind: 'numeric';
  class: NumericClass;
  dims: number[];
  data: NumericData;
  /** The imaginary part of a complex array. */
  imag?: NumericData;
  logical: boolean;
}

export interface MatChar extends Located {
  kind: 'char';
  dims: number[];
  /** The characters in column-major order (a 1xN row reads as the string). */
  text: string;
}

export interface MatStruct extends Located {
  kind: 'struct';
  dims: number[];
  fields: string[];
  /** One map per element, column-major. */
  elements: Map<string, MatArray>[];
}

export interface MatCell extends Located {
  kind: 'cell';
  dims: number[];
  cells: MatArray[];
}

/** An array caffe-tool does not read (sparse, object, function handle...): refused when used. */
export interface MatUnsupported extends Located {
  kind: 'unsupported';
  what: string;
}

export type MatArray = MatNumeric | MatChar | MatStruct | MatCell | MatUnsupported;

export interface MatVariable {
  name: string;
  value: MatArray;
  global: boolean;
}

export interface MatFile {
  header: string;
  littleEndian: boolean;
  variables: MatVariable[];
}

/** Which MAT-file a header is: 'v5' (level 5, v6 and v7), 'v7.3' (HDF5), or undefined for neither. */
export function matVersion(bytes: Uint8Array): 'v5' | 'v7.3' | undefined {
  const head = Buffer.from(bytes.subarray(0, Math.min(128, bytes.length))).toString('latin1');
  const hdf5At512 = bytes.length >= 520 && Buffer.from(bytes.subarray(512, 520)).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
  if (head.startsWith('MATLAB 7.3 MAT-file') || (head.startsWith('MATLAB') && hdf5At512)) return 'v7.3';
  if (head.startsWith('MATLAB 5.0 MAT-file') || (bytes.length >= 128 && /^(IM|MI)$/.test(head.slice(126, 128)) && head.startsWith('MATLAB'))) return 'v5';
  return undefined;
}

export function readMatFile(path: string): MatFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    throw new CaffeToolError(`cannot read ${path}: ${why}`, { cause: e });
  }
  try {
    return parseMat(bytes);
  } catch (e) {
    throw e instanceof CaffeToolError ? e.within({ file: path }) : e;
  }
}

/** Parse a MAT v5 file held in memory. */
export function parseMat(bytes: Uint8Array): MatFile {
  const version = matVersion(bytes);
  if (version === 'v7.3') {
    throw new CaffeToolError('this is a MATLAB v7.3 MAT-file (HDF5 inside), which parseMat (MAT v5 bytes) does not read', {
      hint: 'read the file with readAnyMatFile or readMat73File (src/io/mat73.ts)',
    });
  }
  if (version !== 'v5') {
    throw new CaffeToolError('this is not a MAT v5 file: it does not start with the "MATLAB 5.0 MAT-file" header', {
      hint: 'MAT v4 files (save -v4) have no header and are not read; save with -v7 instead',
    });
  }
  const header = Buffer.from(bytes.subarray(0, 116)).toString('latin1').replace(/[\s\0]+$/, '');
  const endian = Buffer.from(bytes.subarray(126, 128)).toString('latin1');
  const littleEndian = endian === 'IM';
  const reader = new ElementReader(bytes, littleEndian, 0);
  const variables: MatVariable[] = [];
  let pos = 128;
  while (pos < bytes.length) {
    if (bytes.length - pos < 8) {
      // Some writers pad the end of the file; a few stray bytes there are not an element.
      if (bytes.subarray(pos).every((b) => b === 0)) break;
      throw new CaffeToolError(`the file ends with ${bytes.length - pos} bytes at byte ${pos} that are not a data element`);
    }
    const tag = reader.tag(pos, 'the top level');
    if (tag.type === miCOMPRESSED) {
      const end = pos + 8 + tag.size;
      reader.check(end, pos, 'a compressed element');
      let inflated: Buffer;
      try {
        inflated = inflateSync(bytes.subarray(pos + 8, end));
      } catch (e) {
        throw new CaffeToolError(`the compressed element at byte ${pos} does not inflate: ${(e as Error).message}`, {
          hint: 'the file is damaged or cut short',
        });
      }
      const inner = new ElementReader(inflated, littleEndian, pos);
      const innerTag = inner.tag(0, `the compressed element at byte ${pos}`);
      if (innerTag.type === miMATRIX) variables.push(inner.variable(0));
      pos = end;
    } else if (tag.type === miMATRIX) {
      variables.push(reader.variable(pos));
      pos = pos + 8 + tag.size;
    } else {
      // Not an array: skip it (nothing else belongs at the top level of a MAT-file).
      pos = tag.dataStart + pad8(tag.size);
    }
  }
  return { header, littleEndian, variables };
}

const pad8 = (n: number) => (n + 7) & ~7;

interface Tag {
  type: number;
  size: number;
  /** Where the element's data starts (4 bytes after the tag start for the small format). */
  dataStart: number;
  /** Where the next element starts. */
  next: number;
}

/** Reads data elements from one buffer: the file, or the inflated content of one compressed element. */
class ElementReader {
  private readonly dv: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly le: boolean,
    /** For an inflated buffer, the file offset of its compressed element (0: the buffer is the file). */
    private readonly base: number,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A file position to show the user. */
  private at(pos: number): string {
    return this.base ? `byte ${pos} of the compressed element at byte ${this.base}` : `byte ${pos}`;
  }

  private where(pos: number): number {
    return this.base || pos;
  }

  check(end: number, pos: number, what: string): void {
    if (end > this.bytes.length) {
      throw new CaffeToolError(`the file is cut short: ${what} at ${this.at(pos)} needs ${end - pos} bytes, ${this.bytes.length - pos} are left`);
    }
  }

  tag(pos: number, inside: string): Tag {
    this.check(pos + 8, pos, `a data element tag in ${inside}`);
    const first = this.dv.getUint32(pos, this.le);
    if (first >>> 16) {
      // Small data element: type and size share the first word, up to 4 bytes of data follow.
      const size = first >>> 16;
      const type = first & 0xffff;
      if (size > 4) throw new CaffeToolError(`bad small data element at ${this.at(pos)} in ${inside}: ${size} bytes do not fit in 4`);
      return { type, size, dataStart: pos + 4, next: pos + 8 };
    }
    const size = this.dv.getUint32(pos + 4, this.le);
    const next = first === miCOMPRESSED ? pos + 8 + size : pos + 8 + pad8(size);
    this.check(pos + 8 + size, pos, `a ${MI_NAMES[first] ?? `type ${first}`} element in ${inside}`);
    return { type: first, size, dataStart: pos + 8, next };
  }

  /** A top-level miMATRIX element at `pos`: its name and array. */
  variable(pos: number): MatVariable {
    const parsed = this.matrix(pos, '(a variable)');
    return { name: parsed.name, value: parsed.value, global: parsed.global };
  }

  /** An miMATRIX element: array flags, dims, name, then what its class holds. */
  private matrix(pos: number, context: string): { name: string; value: MatArray; global: boolean; next: number } {
    const tag = this.tag(pos, context);
    const offset = this.where(pos);
    if (tag.type !== miMATRIX) {
      throw new CaffeToolError(`expected an array (miMATRIX) at ${this.at(pos)} in ${context}, found ${MI_NAMES[tag.type] ?? `element type ${tag.type}`}`);
    }
    const end = tag.dataStart + tag.size;
    if (tag.size === 0) {
      // An empty element: MATLAB writes these for empty cells ([]), a 0x0 double.
      return { name: '', value: { kind: 'numeric', class: 'double', dims: [0, 0], data: new Float64Array(0), logical: false, offset }, global: false, next: tag.next };
    }
    const flagsTag = this.tag(tag.dataStart, context);
    if (flagsTag.type !== miUINT32 || flagsTag.size < 8) throw new CaffeToolError(`bad array flags at ${this.at(tag.dataStart)} in ${context}`);
    const flags = this.dv.getUint32(flagsTag.dataStart, this.le);
    const mx = flags & 0xff;
    const complex = (flags & 0x0800) !== 0;
    const global = (flags & 0x0400) !== 0;
    const logical = (flags & 0x0200) !== 0;
    const className = CLASS_NAMES[mx] ?? `class ${mx}`;
    let p = flagsTag.next;
    if (mx === 17) {
      // Opaque arrays (MATLAB objects in subsystem data) have another layout: leave them whole.
      return { name: '', value: { kind: 'unsupported', what: 'a MATLAB opaque object', offset }, global, next: tag.next };
    }
    const dimsEl = this.tag(p, context);
    if (dimsEl.type !== miINT32) throw new CaffeToolError(`bad dimensions element at ${this.at(p)} in ${context}: ${MI_NAMES[dimsEl.type] ?? dimsEl.type}, expected miINT32`);
    const dims: number[] = [];
    for (let i = 0; i < dimsEl.size / 4; i++) dims.push(this.dv.getInt32(dimsEl.dataStart + 4 * i, this.le));
    p = dimsEl.next;
    const nameEl = this.tag(p, context);
    const name = this.text(nameEl);
    p = nameEl.next;
    const label = name ? `variable '${name}'` : context;
    const count = dims.reduce((a, b) => a * b, 1);
    if (mx >= 6 && mx <= 15) {
      const cls = CLASS_NAMES[mx] as NumericClass;
      const realEl = this.tag(p, label);
      const data = this.numbers(realEl, cls, count, label);
      p = realEl.next;
      let imag: NumericData | undefined;
      if (complex) {
        const imagEl = this.tag(p, label);
        imag = this.numbers(imagEl, cls, count, label);
        p = imagEl.next;
      }
      const value: MatNumeric = { kind: 'numeric', class: cls, dims, data, logical, offset };
      if (imag) value.imag = imag;
      return { name, value, global, next: tag.next };
    }
    if (mx === 4) {
      const dataEl = this.tag(p, label);
      return { name, value: { kind: 'char', dims, text: this.chars(dataEl, label), offset }, global, next: tag.next };
    }
    if (mx === 2) {
      const lenEl = this.tag(p, label);
      if (lenEl.type !== miINT32) throw new CaffeToolError(`bad field name length in ${label} at ${this.at(p)}`);
      const len = this.dv.getInt32(lenEl.dataStart, this.le);
      p = lenEl.next;
      const namesEl = this.tag(p, label);
      p = namesEl.next;
      const fields: string[] = [];
      if (len > 0) {
        for (let at = 0; at + len <= namesEl.size; at += len) {
          const raw = this.bytes.subarray(namesEl.dataStart + at, namesEl.dataStart + at + len);
          const zero = raw.indexOf(0);
          fields.push(Buffer.from(zero < 0 ? raw : raw.subarray(0, zero)).toString('latin1'));
        }
      }
      const elements: Map<string, MatArray>[] = [];
      for (let e = 0; e < count; e++) {
        const m = new Map<string, MatArray>();
        for (const f of fields) {
          const child = this.matrix(p, `field '${f}' of ${label}`);
          m.set(f, child.value);
          p = child.next;
        }
        elements.push(m);
      }
      return { name, value: { kind: 'struct', dims, fields, elements, offset }, global, next: tag.next };
    }
    if (mx === 1) {
      const cells: MatArray[] = [];
      for (let e = 0; e < count; e++) {
        const child = this.matrix(p, `cell ${e + 1} of ${label}`);
        cells.push(child.value);
        p = child.next;
      }
      return { name, value: { kind: 'cell', dims, cells, offset }, global, next: tag.next };
    }
    if (p > end) throw new CaffeToolError(`${label} at ${this.at(pos)} overruns its element`);
    return { name, value: { kind: 'unsupported', what: `a ${className} array`, offset }, global, next: tag.next };
  }

  private text(el: Tag): string {
    return Buffer.from(this.bytes.subarray(el.dataStart, el.dataStart + el.size)).toString('latin1').replace(/\0+$/, '');
  }

  private chars(el: Tag, label: string): string {
    const raw = this.bytes.subarray(el.dataStart, el.dataStart + el.size);
    if (el.type === miUTF8 || el.type === miINT8 || el.type === miUINT8) return Buffer.from(raw).toString(el.type === miUTF8 ? 'utf8' : 'latin1');
    if (el.type === miUINT16 || el.type === miUTF16) {
      let s = '';
      for (let i = 0; i < el.size / 2; i++) s += String.fromCharCode(this.dv.getUint16(el.dataStart + 2 * i, this.le));
      return s;
    }
    if (el.type === miUTF32 || el.type === miUINT32 || el.type === miINT32) {
      let s = '';
      for (let i = 0; i < el.size / 4; i++) s += String.fromCodePoint(this.dv.getUint32(el.dataStart + 4 * i, this.le));
      return s;
    }
    throw new CaffeToolError(`${label}: characters stored as ${MI_NAMES[el.type] ?? el.type} are not read (element at ${this.at(el.dataStart - 8)})`);
  }

  /** A numeric data element as the array class's typed array (MATLAB may store doubles as smaller integers). */
  private numbers(el: Tag, cls: NumericClass, count: number, label: string): NumericData {
    const size = MI_SIZE[el.type];
    if (!size || el.type === miUTF8 || el.type === miUTF16 || el.type === miUTF32) {
      throw new CaffeToolError(`${label}: its values are stored as ${MI_NAMES[el.type] ?? `element type ${el.type}`}, which is not a number type (element at ${this.at(el.dataStart - 8)})`);
    }
    if (el.size !== count * size) {
      throw new CaffeToolError(`${label}: its dimensions make ${count} values but its data element holds ${el.size / size} (${MI_NAMES[el.type]}, at ${this.at(el.dataStart - 8)})`);
    }
    const target = NUMERIC[cls];
    const start = el.dataStart;
    // The common case, stored as its own class in this machine's byte order: a view or one copy.
    if (el.type === target.mi && this.le) {
      const abs = this.bytes.byteOffset + start;
      const copy = abs % size === 0 ? null : this.bytes.slice(start, start + el.size);
      const buf = copy ? copy.buffer : this.bytes.buffer;
      const off = copy ? copy.byteOffset : abs;
      switch (cls) {
        case 'double': return new Float64Array(buf, off, count);
        case 'single': return new Float32Array(buf, off, count);
        case 'int8': return new Int8Array(buf, off, count);
        case 'uint8': return new Uint8Array(buf, off, count);
        case 'int16': return new Int16Array(buf, off, count);
        case 'uint16': return new Uint16Array(buf, off, count);
        case 'int32': return new Int32Array(buf, off, count);
        case 'uint32': return new Uint32Array(buf, off, count);
        case 'int64': return new BigInt64Array(buf, off, count);
        case 'uint64': return new BigUint64Array(buf, off, count);
      }
    }
    const out = target.make(count);
    const big = cls === 'int64' || cls === 'uint64';
    const dv = this.dv;
    const le = this.le;
    const get = (i: number): number | bigint => {
      const o = start + i * size;
      switch (el.type) {
        case miINT8: return dv.getInt8(o);
        case miUINT8: return dv.getUint8(o);
        case miINT16: return dv.getInt16(o, le);
        case miUINT16: return dv.getUint16(o, le);
        case miINT32: return dv.getInt32(o, le);
        case miUINT32: return dv.getUint32(o, le);
        case miSINGLE: return dv.getFloat32(o, le);
        case miDOUBLE: return dv.getFloat64(o, le);
        case miINT64: return dv.getBigInt64(o, le);
        default: return dv.getBigUint64(o, le);
      }
    };
    for (let i = 0; i < count; i++) {
      const v = get(i);
      if (big) (out as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
      else (out as Float64Array)[i] = Number(v);
    }
    return out;
  }
}

/** A numeric array's values as float32 (complex arrays are refused: a weight is real). */
export function matToFloat32(a: MatArray, what: string): Float32Array {
  if (a.kind !== 'numeric') throw unsupported(a, what, 'a numeric array');
  if (a.imag) throw new CaffeToolError(`${what} is complex (${arrayPlace(a)}); weights must be real`);
  if (a.data instanceof Float32Array) return a.data;
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
  return out;
}

/** The error for an array that is not what the caller needs, naming it, its kind and its byte offset. */
export function unsupported(a: MatArray, what: string, wanted: string): CaffeToolError {
  const is = a.kind === 'unsupported' ? a.what : a.kind === 'numeric' ? `a ${a.class} array` : `a ${a.kind} array`;
  return new CaffeToolError(`${what} is ${is} (${arrayPlace(a)}), not ${wanted}`, {
    hint: a.kind !== 'unsupported' ? undefined
      : a.hdf5 ? "from a MAT v7.3 file caffe-tool reads numeric arrays and 1x1 structs of them: keep the weights in those, or save(file, '-v7') to keep cells"
        : 'caffe-tool reads numeric, char, struct and cell arrays; convert it to a full single or double array in MATLAB',
  });
}

/** A variable for writeMat: a numeric array with MATLAB dims and column-major data. */
export interface MatOutput {
  name: string;
  dims: number[];
  data: Float32Array | Float64Array;
}

const MATLAB_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** Is `name` a valid MATLAB variable name (a letter, then letters, digits or _, at most 63 characters)? */
export function isMatlabName(name: string): boolean {
  return MATLAB_NAME.test(name);
}

/** The bytes of a MAT v5 file (little-endian) holding `vars`; `compress` wraps each in miCOMPRESSED (v7). */
export function encodeMat(vars: MatOutput[], opts: { compress?: boolean; header?: string } = {}): Buffer[] {
  const text = (opts.header ?? `MATLAB 5.0 MAT-file, Platform: ${process.platform}, Created on: ${new Date().toUTCString()} by caffe-tool`).slice(0, 116);
  const head = Buffer.alloc(128, 0x20);
  head.write(text, 0, 'latin1');
  head.fill(0, 116, 124); // no subsystem data
  head.writeUInt16LE(0x0100, 124);
  head.write('IM', 126, 'latin1');
  const parts: Buffer[] = [head];
  const seen = new Set<string>();
  for (const v of vars) {
    if (!isMatlabName(v.name)) {
      throw new CaffeToolError(`'${v.name}' is not a valid MATLAB variable name (a letter, then letters, digits or _, at most 63 characters)`);
    }
    if (seen.has(v.name)) throw new CaffeToolError(`two variables are named '${v.name}'`);
    seen.add(v.name);
    const count = v.dims.reduce((a, b) => a * b, 1);
    if (v.dims.length < 2) throw new CaffeToolError(`variable '${v.name}': a MATLAB array has at least 2 dimensions, not ${v.dims.length}`);
    if (count !== v.data.length) throw new CaffeToolError(`variable '${v.name}': dims ${v.dims.join('x')} make ${count} values, the data has ${v.data.length}`);
    const element = matrixElement(v);
    if (opts.compress) {
      const z = deflateSync(Buffer.concat(element));
      const tag = Buffer.alloc(8);
      tag.writeUInt32LE(miCOMPRESSED, 0);
      tag.writeUInt32LE(z.length, 4);
      parts.push(tag, z);
    } else {
      parts.push(...element);
    }
  }
  return parts;
}

/** Write a MAT v5 file atomically. Returns its size in bytes. */
export function writeMatFile(path: string, vars: MatOutput[], opts: { compress?: boolean } = {}): number {
  const parts = encodeMat(vars, opts);
  let bytes = 0;
  writeAtomic(path, (fd) => {
    for (const p of parts) {
      writeAll(fd, p);
      bytes += p.length;
    }
  });
  return bytes;
}

function matrixElement(v: MatOutput): Buffer[] {
  const single = v.data instanceof Float32Array;
  const flags = Buffer.alloc(16);
  flags.writeUInt32LE(miUINT32, 0);
  flags.writeUInt32LE(8, 4);
  flags.writeUInt32LE(single ? NUMERIC.single.mx : NUMERIC.double.mx, 8);
  const dims = Buffer.alloc(8 + pad8(4 * v.dims.length));
  dims.writeUInt32LE(miINT32, 0);
  dims.writeUInt32LE(4 * v.dims.length, 4);
  v.dims.forEach((d, i) => dims.writeInt32LE(d, 8 + 4 * i));
  const nameBytes = Buffer.from(v.name, 'latin1');
  let name: Buffer;
  if (nameBytes.length <= 4) {
    name = Buffer.alloc(8);
    name.writeUInt32LE((nameBytes.length << 16) | miINT8, 0);
    nameBytes.copy(name, 4);
  } else {
    name = Buffer.alloc(8 + pad8(nameBytes.length));
    name.writeUInt32LE(miINT8, 0);
    name.writeUInt32LE(nameBytes.length, 4);
    nameBytes.copy(name, 8);
  }
  const dataBytes = v.data.byteLength;
  const dataTag = Buffer.alloc(8);
  dataTag.writeUInt32LE(single ? miSINGLE : miDOUBLE, 0);
  dataTag.writeUInt32LE(dataBytes, 4);
  const data = Buffer.from(v.data.buffer, v.data.byteOffset, dataBytes);
  const padding = Buffer.alloc(pad8(dataBytes) - dataBytes);
  const body = [flags, dims, name, dataTag, data, padding];
  const size = body.reduce((a, b) => a + b.length, 0);
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(miMATRIX, 0);
  tag.writeUInt32LE(size, 4);
  return [tag, ...body];
}
