// Reading and writing Caffe files whole: find the encoding, the kind and the dialect, decode or parse; write
// atomically in the dialect that was read.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { CaffeToolError, usageError } from '../errors.js';
import { decodeSource, type ByteSource, BufferSource, FileSource } from './binary/source.js';
import { encodedSize, encodeMessage, encodeMessageTo } from './binary/encode.js';
import { writeAll, writeAtomic } from './atomic.js';
import { chooseTextDialect, detectBinaryDialect } from './dialect.js';
import type { Message } from './message.js';
import { type Dialect, dialectSchema, messageInfo, unionSchema } from './schema.js';
import { type Kind, KIND_NAMES, KINDS, sniffBinaryKind, sniffEncoding, sniffTextKind } from './sniff.js';
import { parseText } from './text/parse.js';
import { printTextTo } from './text/print.js';

export interface CaffeFile {
  kind: Kind;
  message: Message;
  /** The fork whose schema the file was read with, and which it is written back in. */
  dialect: Dialect;
  encoding: 'text' | 'binary';
  path?: string;
}

export interface ReadOptions {
  /** The kinds the caller accepts; others are refused by name. Default: every kind. */
  kinds?: readonly Kind[];
  /** The encoding the caller needs; the other one is refused with a "swapped files?" hint. */
  encoding?: 'text' | 'binary';
  /** Read with this dialect instead of detecting it. */
  dialect?: Dialect;
}

const ALL_KINDS = Object.keys(KINDS) as Kind[];

/** Caffe's protobuf reader refuses messages over INT_MAX bytes (kProtoReadBytesLimit). */
export const CAFFE_MAX_BYTES = 2 ** 31 - 1;

export function readCaffeFile(path: string, opts: ReadOptions = {}): CaffeFile {
  let src: FileSource;
  try {
    src = FileSource.open(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    throw new CaffeToolError(`cannot read ${path}: ${why}`, { cause: e });
  }
  try {
    const head = src.read(0, Math.min(4096, src.size));
    const encoding = checkEncoding(sniffEncoding(head), opts);
    const file = encoding === 'text'
      ? parseCaffeText(readFileSync(path, 'utf8'), { ...opts, file: path })
      : decodeCaffeSource(src, opts);
    return { ...file, path };
  } catch (e) {
    throw e instanceof CaffeToolError ? e.within({ file: path }) : e;
  } finally {
    src.close();
  }
}

/** Read from bytes in memory (stdin, tests): text or binary as the content says. */
export function readCaffeBytes(bytes: Uint8Array, opts: ReadOptions & { file?: string } = {}): CaffeFile {
  try {
    const encoding = checkEncoding(sniffEncoding(bytes.subarray(0, 4096)), opts);
    if (encoding === 'text') return parseCaffeText(Buffer.from(bytes).toString('utf8'), opts);
    return decodeCaffeSource(new BufferSource(bytes), opts);
  } catch (e) {
    throw e instanceof CaffeToolError && opts.file && !e.where.file ? e.within({ file: opts.file }) : e;
  }
}

function checkEncoding(found: string, opts: ReadOptions): 'text' | 'binary' {
  if (found === 'empty') throw new CaffeToolError('the file is empty');
  if (found === 'hdf5' || found === 'mat') {
    throw new CaffeToolError(`this is ${found === 'hdf5' ? 'an HDF5' : 'a MATLAB'} file, not a protobuf Caffe file`, {
      hint: found === 'hdf5' ? 'HDF5 models (.h5) are not supported by this command yet' : 'MAT files are read by caffe-tool from-matlab',
    });
  }
  const enc = found as 'text' | 'binary';
  if (opts.encoding && opts.encoding !== enc) {
    const expected = opts.encoding === 'text' ? 'a text .prototxt' : 'a binary file (.caffemodel, .binaryproto)';
    throw new CaffeToolError(`this is a ${enc} file, but ${expected} was expected here`, {
      hint: 'did you swap the model and the weights? The model is the text .prototxt, the weights the binary .caffemodel',
    });
  }
  return enc;
}

export function parseCaffeText(text: string, opts: ReadOptions & { file?: string } = {}): CaffeFile {
  const kinds = opts.kinds ?? ALL_KINDS;
  const schema = opts.dialect ? dialectSchema(opts.dialect) : unionSchema();
  const kind = kinds.length === 1 ? kinds[0] : sniffTextKind(text, schema, kinds);
  const parsed = parseText(text, schema, KINDS[kind], opts.file);
  const dialect = opts.dialect ?? chooseTextDialect(parsed.dialects, kind === 'net' ? parsed.message : undefined, opts.file);
  return { kind, message: parsed.message, dialect, encoding: 'text' };
}

function decodeCaffeSource(src: ByteSource, opts: ReadOptions): CaffeFile {
  const kinds = opts.kinds ?? ALL_KINDS;
  const bvlc = dialectSchema('bvlc');
  const sniffed = sniffBinaryKind(src, bvlc, kinds);
  if (sniffed.misfit >= 100) {
    const what = kinds.length === 1 ? KIND_NAMES[kinds[0]] : 'any Caffe message';
    throw new CaffeToolError(`this is not ${what}: its bytes do not parse as protobuf`, {
      hint: 'the file is damaged, cut short, or not a Caffe file',
    });
  }
  const kind = sniffed.kind;
  const dialect = opts.dialect ?? (kind === 'net' ? detectBinaryDialect(src).dialect : 'bvlc');
  const message = decodeSource(src, messageInfo(dialectSchema(dialect), KINDS[kind]));
  return { kind, message, dialect, encoding: 'binary' };
}

const TEXT_EXTENSIONS = ['.prototxt', '.pbtxt', '.txt', '.pt'];
const BINARY_EXTENSIONS = ['.caffemodel', '.binaryproto', '.solverstate', '.pb', '.bin', '.protobin'];

/** The encoding a path's extension asks for. */
export function encodingForPath(path: string): 'text' | 'binary' {
  const ext = extname(path).toLowerCase();
  if (TEXT_EXTENSIONS.includes(ext)) return 'text';
  if (BINARY_EXTENSIONS.includes(ext)) return 'binary';
  if (ext === '.h5' || ext === '.hdf5') throw usageError(`writing HDF5 (${ext}) is not supported yet`, 'write .caffemodel (binary) or .prototxt (text)');
  throw usageError(
    `cannot tell the output format from '${ext || path}'`,
    `use ${TEXT_EXTENSIONS.join('/')} for text or ${BINARY_EXTENSIONS.join('/')} for binary`,
  );
}

export interface WriteResult {
  bytes: number;
  warnings: string[];
}

/** Write a Caffe message atomically as text or binary, in the file's dialect. */
export function writeCaffeFile(path: string, file: Pick<CaffeFile, 'kind' | 'message' | 'dialect'>, encoding: 'text' | 'binary'): WriteResult {
  const info = messageInfo(dialectSchema(file.dialect), KINDS[file.kind]);
  const warnings: string[] = [];
  let bytes = 0;
  try {
    if (encoding === 'binary') {
      const size = encodedSize(file.message, info);
      if (size > CAFFE_MAX_BYTES) {
        warnings.push(
          `${path} is ${(size / 2 ** 30).toFixed(2)} GiB: Caffe itself cannot read protobuf files over 2 GiB (its reader stops at INT_MAX bytes); caffe-tool can`,
        );
      }
      writeAtomic(path, (fd) => {
        bytes = encodeMessageTo(file.message, info, { write: (b) => writeAll(fd, b) });
      });
    } else {
      writeAtomic(path, (fd) => {
        printTextTo(file.message, info, (chunk) => {
          const b = Buffer.from(chunk, 'utf8');
          bytes += b.length;
          writeAll(fd, b);
        });
      });
    }
  } catch (e) {
    throw e instanceof CaffeToolError ? e.within({ file: path }) : e;
  }
  return { bytes, warnings };
}

/** Encode in memory (tests, small messages). */
export function encodeCaffe(file: Pick<CaffeFile, 'kind' | 'message' | 'dialect'>): Uint8Array {
  return encodeMessage(file.message, messageInfo(dialectSchema(file.dialect), KINDS[file.kind]));
}
