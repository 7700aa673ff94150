// Caffe's schema as caffe-tool uses it: messages and enums by name, fields by number and by name, one
// schema per dialect (BVLC plus a fork's patch), and the union of all of them for name-based text files.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CaffeToolError, usageError } from '../errors.js';

export const SCALAR_TYPES = [
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];
export type FieldKind = ScalarType | 'enum' | 'message';

export interface FieldInfo {
  name: string;
  number: number;
  kind: FieldKind;
  repeated: boolean;
  packed: boolean;
  /** The explicit `[default = ...]`, already in its in-memory form (enums by name, floats rounded to float32). */
  default?: unknown;
  /** Set for kind 'message' and 'enum' once the schema is resolved. */
  message?: MessageInfo;
  enum?: EnumInfo;
  /** The dialects whose schema has a field of this name in this message (union schema only). */
  dialects: ReadonlySet<string>;
}

export interface MessageInfo {
  /** Name inside package caffe, nested ones dotted: `V1LayerParameter`, `PoolingParameter`. */
  name: string;
  /** Fields sorted by number: the order protobuf writes them. */
  fields: FieldInfo[];
  byNumber: Map<number, FieldInfo>;
  byName: Map<string, FieldInfo>;
}

export interface EnumInfo {
  name: string;
  byName: Map<string, number>;
  /** Number to the first name declared for it. */
  byNumber: Map<number, string>;
  /** For each value name, the dialects that have it (union schema only). */
  dialects: Map<string, ReadonlySet<string>>;
}

export interface Schema {
  /** A dialect name, or 'union' for the name-based schema text files are parsed with. */
  dialect: string;
  messages: Map<string, MessageInfo>;
  enums: Map<string, EnumInfo>;
}

export function messageInfo(schema: Schema, name: string): MessageInfo {
  const m = schema.messages.get(name);
  if (!m) throw new CaffeToolError(`the ${schema.dialect} schema has no message ${name}`);
  return m;
}

// ---- loading the .proto files ----

interface JsonField { type: string; id: number; rule?: string; options?: { default?: unknown; packed?: boolean } }
interface JsonNode { fields?: Record<string, JsonField>; values?: Record<string, number>; nested?: Record<string, JsonNode> }

const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

const parsed = new Map<string, { pkg: JsonNode; imports: string[] }>();

/** The package caffe of a .proto file in proto/, and the files it imports (paths relative to proto/); parsed once. */
function parseProto(file: string): { pkg: JsonNode; imports: string[] } {
  let result = parsed.get(file);
  if (!result) {
    result = parseProtoFile(file);
    parsed.set(file, result);
  }
  return result;
}

function parseProtoFile(file: string): { pkg: JsonNode; imports: string[] } {
  const text = readFileSync(PROTO_DIR + file, 'utf8');
  let result: protobuf.IParserResult;
  try {
    result = protobuf.parse(text, { keepCase: true });
  } catch (e) {
    throw new CaffeToolError(`cannot parse the schema proto/${file}: ${(e as Error).message}`);
  }
  const pkg = (result.root.toJSON() as JsonNode).nested?.caffe;
  if (!pkg) throw new CaffeToolError(`proto/${file} does not declare package caffe`);
  return { pkg, imports: result.imports ?? [] };
}

/** A fork's patch applied to `base`: the patches it imports first (a fork built on another), then its own. */
function applyPatch(base: JsonNode, file: string): JsonNode {
  const { pkg, imports } = parseProto(file);
  for (const imported of imports) base = applyPatch(base, imported);
  return mergeNode(base, pkg);
}

/** Merge a fork's patch into the base: a patch field replaces base fields with its number or its name. */
function mergeNode(base: JsonNode, patch: JsonNode): JsonNode {
  const out: JsonNode = { ...base };
  if (patch.fields) {
    const fields: Record<string, JsonField> = {};
    const ids = new Set(Object.values(patch.fields).map((f) => f.id));
    for (const [name, f] of Object.entries(base.fields ?? {})) {
      if (!(name in patch.fields) && !ids.has(f.id)) fields[name] = f;
    }
    out.fields = { ...fields, ...patch.fields };
  }
  if (patch.values) {
    const values: Record<string, number> = {};
    const nums = new Set(Object.values(patch.values));
    for (const [name, v] of Object.entries(base.values ?? {})) {
      if (!(name in patch.values) && !nums.has(v)) values[name] = v;
    }
    out.values = { ...values, ...patch.values };
  }
  if (patch.nested) {
    const nested = { ...(base.nested ?? {}) };
    for (const [name, node] of Object.entries(patch.nested)) {
      nested[name] = nested[name] ? mergeNode(nested[name], node) : node;
    }
    out.nested = nested;
  }
  return out;
}

function buildSchema(dialect: string, pkg: JsonNode): Schema {
  const schema: Schema = { dialect, messages: new Map(), enums: new Map() };
  const pending: [MessageInfo, string, JsonField, string][] = [];
  const visit = (node: JsonNode, name: string) => {
    if (node.values) {
      const e: EnumInfo = { name, byName: new Map(), byNumber: new Map(), dialects: new Map() };
      for (const [k, v] of Object.entries(node.values)) {
        e.byName.set(k, v);
        if (!e.byNumber.has(v)) e.byNumber.set(v, k);
        e.dialects.set(k, new Set([dialect]));
      }
      schema.enums.set(name, e);
      return;
    }
    if (node.fields) {
      const m: MessageInfo = { name, fields: [], byNumber: new Map(), byName: new Map() };
      schema.messages.set(name, m);
      for (const [fname, f] of Object.entries(node.fields)) pending.push([m, fname, f, name]);
    }
    for (const [child, sub] of Object.entries(node.nested ?? {})) visit(sub, name ? `${name}.${child}` : child);
  };
  visit(pkg, '');
  for (const [m, fname, f, scope] of pending) {
    const field: FieldInfo = {
      name: fname,
      number: f.id,
      kind: 'message',
      repeated: f.rule === 'repeated',
      packed: f.options?.packed === true,
      dialects: new Set([dialect]),
    };
    if ((SCALAR_TYPES as readonly string[]).includes(f.type)) {
      field.kind = f.type as ScalarType;
    } else {
      const target = resolveTypeName(schema, f.type, scope);
      if (!target) throw new CaffeToolError(`${dialect} schema: ${scope}.${fname} has unknown type ${f.type}`);
      if (schema.enums.has(target)) {
        field.kind = 'enum';
        field.enum = schema.enums.get(target);
      } else {
        field.message = schema.messages.get(target);
      }
    }
    if (f.options?.default !== undefined) field.default = normaliseDefault(field, f.options.default);
    m.fields.push(field);
    m.byNumber.set(field.number, field);
    m.byName.set(field.name, field);
  }
  for (const m of schema.messages.values()) m.fields.sort((a, b) => a.number - b.number);
  return schema;
}

function resolveTypeName(schema: Schema, type: string, scope: string): string | undefined {
  const t = type.replace(/^\.?caffe\./, '');
  const parts = scope ? scope.split('.') : [];
  for (let i = parts.length; i >= 0; i--) {
    const candidate = [...parts.slice(0, i), t].join('.');
    if (schema.messages.has(candidate) || schema.enums.has(candidate)) return candidate;
  }
  return undefined;
}

function normaliseDefault(field: FieldInfo, value: unknown): unknown {
  if (field.kind === 'float' && typeof value === 'number') return Math.fround(value);
  if (field.kind === 'enum' && typeof value === 'number') return field.enum?.byNumber.get(value) ?? value;
  if (typeof value === 'string' && (field.kind === 'float' || field.kind === 'double')) {
    const v = value.toLowerCase();
    return v.includes('nan') ? NaN : v.startsWith('-') ? -Infinity : Infinity;
  }
  return value;
}

// ---- dialects ----

/** The dialects caffe-tool knows, in the order ambiguous files are resolved: BVLC first. */
export const DIALECTS = ['bvlc', 'segnet', 'enet', 'deeplab', 'pspnet', 'ssd', 'fast-rcnn', 'nvcaffe'] as const;
export type Dialect = (typeof DIALECTS)[number];

export function isDialect(name: string): name is Dialect {
  return (DIALECTS as readonly string[]).includes(name);
}

export function checkDialect(name: string): Dialect {
  if (!isDialect(name)) {
    throw usageError(`unknown dialect '${name}'`, `known dialects: ${DIALECTS.join(', ')}`);
  }
  return name;
}

let basePackage: JsonNode | undefined;
const schemas = new Map<string, Schema>();

/** The schema of one dialect: proto/caffe.proto, patched by proto/forks/NAME.proto for a fork. */
export function dialectSchema(dialect: Dialect): Schema {
  let s = schemas.get(dialect);
  if (!s) {
    basePackage ??= parseProto('caffe.proto').pkg;
    const pkg = dialect === 'bvlc' ? basePackage : applyPatch(basePackage, `forks/${dialect}.proto`);
    s = buildSchema(dialect, pkg);
    schemas.set(dialect, s);
  }
  return s;
}

/**
 * All dialects merged by name, for parsing text: every message holds the fields of every dialect, each field
 * knowing the dialects that have it. Field numbers in this schema mean nothing; never encode with it.
 */
export function unionSchema(): Schema {
  let u = schemas.get('union');
  if (u) return u;
  u = { dialect: 'union', messages: new Map(), enums: new Map() };
  for (const d of DIALECTS) {
    const s = dialectSchema(d);
    for (const [name, e] of s.enums) {
      const ue = u.enums.get(name) ?? { name, byName: new Map(), byNumber: new Map(), dialects: new Map() };
      u.enums.set(name, ue);
      for (const [k, v] of e.byName) {
        if (!ue.byName.has(k)) ue.byName.set(k, v);
        if (!ue.byNumber.has(v)) ue.byNumber.set(v, k);
        const has = ue.dialects.get(k) as Set<string> | undefined;
        if (has) has.add(d);
        else ue.dialects.set(k, new Set([d]));
      }
    }
    for (const [name, m] of s.messages) {
      if (!u.messages.has(name)) u.messages.set(name, { name, fields: [], byNumber: new Map(), byName: new Map() });
      const um = u.messages.get(name)!;
      for (const f of m.fields) {
        const known = um.byName.get(f.name);
        if (known) {
          if (known.kind !== f.kind || known.repeated !== f.repeated) {
            throw new CaffeToolError(
              `schema conflict: ${name}.${f.name} is ${f.kind} in ${d} but ${known.kind} in ${[...known.dialects].join(', ')}`,
            );
          }
          (known.dialects as Set<string>).add(d);
        } else {
          const uf: FieldInfo = { ...f, dialects: new Set([d]) };
          um.fields.push(uf);
          um.byName.set(f.name, uf);
        }
      }
    }
  }
  // Point message and enum fields at the union's own types.
  for (const m of u.messages.values()) {
    for (const f of m.fields) {
      if (f.message) f.message = u.messages.get(f.message.name);
      if (f.enum) f.enum = u.enums.get(f.enum.name);
    }
  }
  schemas.set('union', u);
  return u;
}
