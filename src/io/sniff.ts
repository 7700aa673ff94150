// Telling files apart from their content: text or binary (or HDF5, MAT), and which Caffe message a file holds.
import type { ByteSource } from './binary/source.js';
import { decodeString, isPackable, LEN, walkField, wireTypeOf } from './binary/wire.js';
import type { MessageInfo, Schema } from './schema.js';

export type Encoding = 'text' | 'binary' | 'hdf5' | 'mat' | 'empty';

/** What kind of Caffe file, and its message type. */
export const KINDS = {
  net: 'NetParameter',
  solver: 'SolverParameter',
  solverstate: 'SolverState',
  blob: 'BlobProto',
  blobs: 'BlobProtoVector',
  datum: 'Datum',
} as const;
export type Kind = keyof typeof KINDS;

export const KIND_NAMES: Record<Kind, string> = {
  net: 'a net (NetParameter: a .prototxt, or a .caffemodel with weights)',
  solver: 'a solver (SolverParameter)',
  solverstate: 'a solver state (.solverstate)',
  blob: 'a blob (BlobProto, such as a .binaryproto mean file)',
  blobs: 'a list of blobs (BlobProtoVector)',
  datum: 'a Datum (one LMDB/LevelDB record)',
};

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffEncoding(head: Uint8Array): Encoding {
  if (head.length === 0) return 'empty';
  if (HDF5_MAGIC.every((b, i) => head[i] === b)) return 'hdf5';
  if (Buffer.from(head.subarray(0, 10)).toString('latin1') === 'MATLAB 5.0') return 'mat';
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  for (; i < head.length; i++) {
    const b = head[i];
    if (b === 0x7f || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x0b)) return 'binary';
  }
  // Printable so far: text, unless it is not UTF-8 (cutting the head may split a character at its end).
  const s = decodeString(head.subarray(0, Math.max(0, head.length - 4)));
  return typeof s === 'string' ? 'text' : 'binary';
}

/** The kind of a text file: the message whose field names its top-level names are. */
export function sniffTextKind(text: string, schema: Schema, allowed: readonly Kind[]): Kind {
  const names = topLevelNames(text);
  let best = allowed[0];
  let bestScore = -1;
  for (const k of allowed) {
    const info = schema.messages.get(KINDS[k])!;
    const score = names.filter((n) => info.byName.has(n)).length - names.filter((n) => !info.byName.has(n)).length;
    if (score > bestScore) [best, bestScore] = [k, score];
  }
  return best;
}

/** Identifiers at brace depth 0 that start a field (skipping strings and comments). */
function topLevelNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  const re = /#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[{<]|[}>]|([A-Za-z_][A-Za-z0-9_]*)\s*[:{<]/g;
  for (let m = re.exec(text); m && names.length < 200; m = re.exec(text)) {
    const t = m[0];
    if (t === '{' || t === '<') depth++;
    else if (t === '}' || t === '>') depth--;
    else if (m[1]) {
      if (depth === 0) names.push(m[1]);
      if (t.endsWith('{') || t.endsWith('<')) depth++;
    }
  }
  return names;
}

/**
 * How badly bytes[start,end) fit a message type: +1 for each unknown field number or string that is not
 * UTF-8, +4 for each wire-type clash, +100 (and stop) where the bytes do not even parse. Sub-messages up to
 * 64 KiB are checked too, `depth` levels down; larger ones, and fields in `skip`, are taken as fitting. Only
 * field heads are read from large values.
 */
export function misfit(src: ByteSource, info: MessageInfo, start: number, end: number, depth: number, skip?: ReadonlySet<number>): number {
  let score = 0;
  let pos = start;
  while (pos < end) {
    const r = walkField(src.read(pos, Math.min(20, end - pos)), 0);
    if (!r) return score + 100;
    const valueEnd = pos + (r.wire === LEN ? r.valueStart + r.length : r.valueEnd!);
    if (valueEnd > end) return score + 100;
    const f = info.byNumber.get(r.number);
    if (skip?.has(r.number)) {
      // taken as fitting
    } else if (!f) {
      score += 1;
    } else if (r.wire !== LEN) {
      if (wireTypeOf(f.kind) !== r.wire) score += 4;
    } else if (f.kind === 'message') {
      if (depth > 0 && r.length <= MAX_NESTED) score += misfit(src, f.message!, pos + r.valueStart, valueEnd, depth - 1);
    } else if (f.kind === 'string') {
      if (r.length <= MAX_NESTED && typeof decodeString(src.read(pos + r.valueStart, r.length)) !== 'string') score += 1;
    } else if (wireTypeOf(f.kind) !== LEN && !(f.repeated && isPackable(f.kind))) {
      score += 4;
    }
    pos = valueEnd;
  }
  return score;
}

const MAX_NESTED = 1 << 16;

/**
 * The kind of a binary file: the allowed message type whose schema its top-level fields fit best. Only the
 * top level is compared: deeper down, forks differ, and that is the dialect's business, not the kind's.
 */
export function sniffBinaryKind(src: ByteSource, schema: Schema, allowed: readonly Kind[]): { kind: Kind; misfit: number } {
  let best = { kind: allowed[0], misfit: Infinity };
  for (const k of allowed) {
    const m = misfit(src, schema.messages.get(KINDS[k])!, 0, src.size, 0);
    if (m < best.misfit) best = { kind: k, misfit: m };
  }
  return best;
}
