// Decoding straight from a file, for models of any size (Node cannot hold a file over 2 GiB in one Buffer):
// small messages are read whole and decoded in memory; the blob data of large ones is read directly into its
// Float32Array, so a model costs its own size in memory, read once.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CaffeToolError } from '../../errors.js';
import type { Message } from '../message.js';
import type { FieldInfo, MessageInfo } from '../schema.js';
import { decodeInto, DecodeError, joinReals, mergeMessage } from './decode.js';
import { LEN, walkField } from './wire.js';

/** Random access to bytes: an in-memory buffer or an open file. */
export interface ByteSource {
  readonly size: number;
  /** Bytes [pos, pos+len): a view where the source is in memory, else a fresh buffer. */
  read(pos: number, len: number): Uint8Array;
  /** Fill `dest` with the bytes at pos. */
  readInto(pos: number, dest: Uint8Array): void;
}

export class BufferSource implements ByteSource {
  constructor(readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  read(pos: number, len: number): Uint8Array {
    return this.bytes.subarray(pos, pos + len);
  }
  readInto(pos: number, dest: Uint8Array): void {
    dest.set(this.bytes.subarray(pos, pos + dest.length));
  }
}

const WINDOW = 1 << 12;

export class FileSource implements ByteSource {
  readonly size: number;
  private window = new Uint8Array(0);
  private windowPos = 0;

  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }

  static open(path: string): FileSource {
    return new FileSource(openSync(path, 'r'));
  }

  close(): void {
    closeSync(this.fd);
  }

  read(pos: number, len: number): Uint8Array {
    if (len <= WINDOW) {
      if (pos < this.windowPos || pos + len > this.windowPos + this.window.length) {
        this.window = new Uint8Array(Math.min(WINDOW * 2, this.size - pos));
        this.readInto(pos, this.window);
        this.windowPos = pos;
      }
      return this.window.slice(pos - this.windowPos, pos - this.windowPos + len);
    }
    const out = new Uint8Array(len);
    this.readInto(pos, out);
    return out;
  }

  readInto(pos: number, dest: Uint8Array): void {
    let done = 0;
    while (done < dest.length) {
      // readSync takes at most 2 GiB at a time.
      const n = readSync(this.fd, dest, done, Math.min(dest.length - done, 1 << 30), pos + done);
      if (n === 0) throw new DecodeError(`unexpected end of file at byte ${pos + done}`, { hint: 'the file is cut short' });
      done += n;
    }
  }
}

/**
 * Messages up to this size are read whole and decoded in memory; larger float arrays are read straight into their
 * Float32Array. A page: with 4 MiB, ResNet-50's blobs under 4 MiB were read into a buffer and then copied out of it
 * unaligned, and loading its 98 MB took ~100 ms instead of ~80.
 */
let INLINE_BYTES = 1 << 12;

/** Tests exercise streaming on small files; returns the previous limit. */
export function setInlineBytesForTests(n: number): number {
  const old = INLINE_BYTES;
  INLINE_BYTES = n;
  return old;
}

/** Decode a whole source as one message of type `info`. */
export function decodeSource(src: ByteSource, info: MessageInfo): Message {
  if (src instanceof BufferSource) {
    const target: Message = {};
    decodeInto(target, src.bytes, 0, src.size, info, true);
    return target;
  }
  return decodeRange(src, info, 0, src.size);
}

function decodeRange(src: ByteSource, info: MessageInfo, start: number, end: number): Message {
  const target: Message = {};
  let run = start;
  const flush = (upto: number) => {
    if (upto > run) decodeInto(target, src.read(run, upto - run), 0, upto - run, info, true, run);
    run = upto;
  };
  if (end - start <= INLINE_BYTES) {
    flush(end);
    return target;
  }
  let pos = start;
  while (pos < end) {
    const head = src.read(pos, Math.min(20, end - pos));
    const field = walkField(head, 0);
    if (!field) {
      // Not a valid field head: the in-memory decoder says exactly why.
      flush(pos);
      decodeInto({}, head, 0, head.length, info, false, pos);
      throw new DecodeError(`malformed field at byte ${pos}`, { hint: 'the file is damaged or is not a Caffe binary file' });
    }
    const number = field.number;
    if (field.wire !== LEN) {
      pos += field.valueEnd!;
      if (pos - run > INLINE_BYTES) flush(pos);
      continue;
    }
    const valueStart = pos + field.valueStart;
    const valueEnd = valueStart + field.length;
    if (valueEnd > end) {
      throw new DecodeError(`truncated: field ${number} of ${info.name} needs ${field.length} bytes but only ${end - valueStart} remain (at byte ${pos})`, {
        hint: 'the file is cut short or is not a Caffe binary file',
      });
    }
    const f = info.byNumber.get(number);
    if (f && field.length > INLINE_BYTES && isStreamable(f)) {
      flush(pos);
      const index = f.repeated ? ((target[f.name] as unknown[] | undefined)?.length ?? 0) : -1;
      try {
        assignLarge(src, target, f, valueStart, valueEnd);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ path: index < 0 ? f.name : `${f.name}[${index}]` }) : e;
      }
      run = valueEnd;
    } else if (valueEnd - run > INLINE_BYTES) {
      flush(pos);
    }
    pos = valueEnd;
  }
  flush(end);
  return target;
}

function isStreamable(f: FieldInfo): boolean {
  return f.kind === 'message' || f.kind === 'bytes' || (f.repeated && (f.kind === 'float' || f.kind === 'double'));
}

function assignLarge(src: ByteSource, target: Message, f: FieldInfo, start: number, end: number): void {
  if (f.kind === 'message') {
    const sub = decodeRange(src, f.message!, start, end);
    if (f.repeated) ((target[f.name] ??= []) as Message[]).push(sub);
    else if (target[f.name]) mergeMessage(target[f.name] as Message, sub);
    else target[f.name] = sub;
  } else if (f.kind === 'bytes') {
    const bytes = new Uint8Array(end - start);
    src.readInto(start, bytes);
    if (f.repeated) ((target[f.name] ??= []) as Uint8Array[]).push(bytes);
    else target[f.name] = bytes;
  } else {
    const size = f.kind === 'float' ? 4 : 8;
    if ((end - start) % size !== 0) {
      throw new DecodeError(`packed ${f.kind} data of ${end - start} bytes is not a multiple of ${size} (at byte ${start})`);
    }
    // Memory left uninitialized (readInto fills every byte or throws): zero-filling ~100 MB first costs ~10 ms.
    const raw = Buffer.allocUnsafeSlow(end - start);
    const arr = f.kind === 'float' ? new Float32Array(raw.buffer, raw.byteOffset, (end - start) / 4) : new Float64Array(raw.buffer, raw.byteOffset, (end - start) / 8);
    src.readInto(start, raw);
    target[f.name] = joinReals(f, target[f.name], [arr]);
  }
}
