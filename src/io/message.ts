// The in-memory form of a protobuf message: a plain object keyed by field name. Only fields present in the
// file are set (proto2 keeps presence, and a field set to its default is still written). Repeated float and
// double fields are Float32Array/Float64Array, bytes are Uint8Array, enums are their names (a number only
// when the schema lacks the value), 64-bit integers are numbers (bigint beyond 2^53).
import { CaffeToolError } from '../errors.js';
import type { FieldInfo, MessageInfo } from './schema.js';

export const UNKNOWN_FIELDS = Symbol('caffe-tool.unknownFields');

/** A field whose number the schema does not know, kept as its exact bytes (key and value) to write back. */
export interface UnknownField {
  number: number;
  wireType: number;
  raw: Uint8Array;
}

export interface Message {
  [field: string]: unknown;
  [UNKNOWN_FIELDS]?: UnknownField[];
}

export function unknownFields(msg: Message): UnknownField[] {
  return msg[UNKNOWN_FIELDS] ?? [];
}

export function isMessage(v: unknown): v is Message {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v);
}

/** The value of a field, or its default (explicit, else protobuf's zero value) when absent. */
export function fieldValue(msg: Message, info: MessageInfo, name: string): unknown {
  const v = msg[name];
  if (v !== undefined) return v;
  const f = info.byName.get(name);
  if (!f) throw new Error(`${info.name} has no field ${name}`);
  return defaultValue(f);
}

export function defaultValue(f: FieldInfo): unknown {
  if (f.repeated) return f.kind === 'float' ? new Float32Array(0) : f.kind === 'double' ? new Float64Array(0) : [];
  if (f.default !== undefined) return f.default;
  switch (f.kind) {
    case 'string': return '';
    case 'bytes': return new Uint8Array(0);
    case 'bool': return false;
    case 'message': return {};
    case 'enum': return f.enum?.byName.keys().next().value; // proto2: the first value declared
    default: return 0;
  }
}

/** Refuse to write a message holding a field the target schema lacks, rather than drop it. */
export function checkFieldNames(msg: Message, info: MessageInfo): void {
  for (const k of Object.keys(msg)) {
    if (!info.byName.has(k) && msg[k] !== undefined) {
      throw new CaffeToolError(`${info.name} has no field '${k}' in this dialect's schema`, {
        hint: 'a field of another Caffe fork cannot be written in this dialect: choose the dialect that has it (--dialect)',
      });
    }
  }
}
