// Protobuf text format -> Message, by field names, against the union of all dialects; the result says
// which dialects know every name the file used.
import { CaffeToolError, closestNames } from '../../errors.js';
import type { Message } from '../message.js';
import type { FieldInfo, MessageInfo, Schema } from '../schema.js';
import { decodeString } from '../binary/wire.js';
import { type Token, Tokenizer } from './tokenize.js';

export interface TextParse {
  message: Message;
  /** The dialects whose schema has every field and enum value the text used. */
  dialects: Set<string>;
}

export function parseText(text: string, schema: Schema, type: string, file?: string): TextParse {
  const info = schema.messages.get(type);
  if (!info) throw new CaffeToolError(`no message type ${type} in the schema`);
  const p = new Parser(new Tokenizer(text, file), schema);
  const message = p.fields(info, null);
  return { message, dialects: p.dialects };
}

const INT_RANGES: Partial<Record<string, [bigint, bigint]>> = {
  int32: [-(1n << 31n), (1n << 31n) - 1n], sint32: [-(1n << 31n), (1n << 31n) - 1n], sfixed32: [-(1n << 31n), (1n << 31n) - 1n],
  uint32: [0n, (1n << 32n) - 1n], fixed32: [0n, (1n << 32n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n], sint64: [-(1n << 63n), (1n << 63n) - 1n], sfixed64: [-(1n << 63n), (1n << 63n) - 1n],
  uint64: [0n, (1n << 64n) - 1n], fixed64: [0n, (1n << 64n) - 1n],
};

class Parser {
  dialects: Set<string>;

  constructor(private readonly tok: Tokenizer, private readonly schema: Schema) {
    this.dialects = new Set(this.allDialects());
  }

  private allDialects(): string[] {
    const s = new Set<string>();
    for (const m of this.schema.messages.values()) for (const f of m.fields) for (const d of f.dialects) s.add(d);
    return [...s];
  }

  /** Fields until `close` (a symbol) or the end of the text when close is null. */
  fields(info: MessageInfo, close: { symbol: string; open: Token; name: string } | null): Message {
    const msg: Message = {};
    const reals = new Map<FieldInfo, number[]>();
    const seen = new Set<string>();
    for (;;) {
      const t = this.tok.current;
      if (close && t.type === 'symbol' && t.text === close.symbol) {
        this.tok.next();
        break;
      }
      if (t.type === 'eof') {
        if (close) {
          throw this.tok.error(`expected '${close.symbol}' to close '${close.name}' opened at ${close.open.line}:${close.open.col}, found the end of the file`);
        }
        break;
      }
      this.field(info, msg, reals, seen);
      const sep = this.tok.current;
      if (sep.type === 'symbol' && (sep.text === ',' || sep.text === ';')) this.tok.next();
    }
    for (const [f, values] of reals) msg[f.name] = f.kind === 'float' ? Float32Array.from(values) : Float64Array.from(values);
    return msg;
  }

  private field(info: MessageInfo, msg: Message, reals: Map<FieldInfo, number[]>, seen: Set<string>): void {
    const nameTok = this.tok.current;
    if (nameTok.type === 'symbol' && nameTok.text === '[') {
      throw this.tok.error('extensions and Any fields ([...]) are not used by any Caffe schema');
    }
    if (nameTok.type === 'int') {
      throw this.tok.error(`field numbers (${nameTok.text}) cannot be read from text, only names`, nameTok,
        'protobuf prints fields its schema lacks by number, and its own parser refuses them too: read the binary file with the dialect that knows the field');
    }
    if (nameTok.type !== 'ident') throw this.tok.error(`expected a field name in ${info.name}, found ${describe(nameTok)}`);
    const f = info.byName.get(nameTok.text);
    if (!f) throw this.unknownField(info, nameTok);
    this.need(f);
    if (!f.repeated && seen.has(f.name)) {
      throw this.tok.error(`non-repeated field '${f.name}' is specified more than once in ${info.name}`, nameTok);
    }
    seen.add(f.name);
    this.tok.next();
    const colon = this.accept(':');
    const isList = this.isSymbol('[');
    if (f.kind !== 'message' && !colon) throw this.tok.error(`expected ':' after '${f.name}', found ${describe(this.tok.current)}`);
    if (isList) {
      if (!f.repeated) throw this.tok.error(`'${f.name}' is not repeated, so it cannot take a list [ ... ]`);
      this.tok.next();
      if (!this.accept(']')) {
        do this.store(f, msg, reals, this.value(f));
        while (this.accept(','));
        this.expect(']', `to close the list of '${f.name}'`);
      }
      return;
    }
    this.store(f, msg, reals, this.value(f));
  }

  private store(f: FieldInfo, msg: Message, reals: Map<FieldInfo, number[]>, v: unknown): void {
    if (f.repeated && (f.kind === 'float' || f.kind === 'double')) {
      const list = reals.get(f) ?? [];
      reals.set(f, list);
      list.push(v as number);
    } else if (f.repeated) ((msg[f.name] ??= []) as unknown[]).push(v);
    else msg[f.name] = v;
  }

  private value(f: FieldInfo): unknown {
    if (f.kind === 'message') {
      const open = this.tok.current;
      if (!this.isSymbol('{') && !this.isSymbol('<')) {
        throw this.tok.error(`expected '{' to start '${f.name}' (a ${f.message!.name}), found ${describe(open)}`);
      }
      this.tok.next();
      return this.fields(f.message!, { symbol: open.text === '{' ? '}' : '>', open, name: f.name });
    }
    if (f.kind === 'string' || f.kind === 'bytes') return this.stringValue(f);
    const neg = this.accept('-');
    const t = this.tok.current;
    this.tok.next();
    switch (f.kind) {
      case 'float': case 'double': {
        const v = this.real(t, f);
        const signed = neg ? -v : v;
        return f.kind === 'float' ? Math.fround(signed) : signed;
      }
      case 'bool': {
        if (neg) throw this.tok.error(`'${f.name}' is a bool: true or false`, t);
        const v = { true: true, True: true, t: true, '1': true, false: false, False: false, f: false, '0': false }[t.text];
        if (v === undefined || (t.type !== 'ident' && t.type !== 'int')) throw this.tok.error(`'${f.name}' is a bool: expected true or false, found ${describe(t)}`, t);
        return v;
      }
      case 'enum': {
        const e = f.enum!;
        if (t.type === 'int') {
          const n = Number(this.integer(t, 'int32', neg, f));
          const name = e.byNumber.get(n);
          // protobuf's text parser refuses a number that names no value (proto2 enums are closed).
          if (name === undefined) throw this.tok.error(`${n} is not a value of ${e.name} (field '${f.name}')`, t, `values: ${[...e.byNumber].map(([k, v]) => `${v} = ${k}`).join(', ')}`);
          this.needValue(e.dialects.get(name));
          return name;
        }
        if (t.type !== 'ident' || neg || !e.byName.has(t.text)) {
          const near = t.type === 'ident' ? closestNames(t.text, e.byName.keys()) : [];
          throw this.tok.error(
            `${describe(t)} is not a value of ${e.name} (field '${f.name}')`, t,
            near.length ? `did you mean ${near.join(' or ')}? Values: ${[...e.byName.keys()].join(', ')}` : `values: ${[...e.byName.keys()].join(', ')}`,
          );
        }
        this.needValue(e.dialects.get(t.text));
        return t.text;
      }
      default: {
        const v = this.integer(t, f.kind, neg, f);
        return f.kind.endsWith('64') && (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) ? v : Number(v);
      }
    }
  }

  private real(t: Token, f: FieldInfo): number {
    if (t.type === 'int') return Number(this.integer(t, 'uint64', false, f));
    if (t.type === 'float') return Number(t.text.replace(/[fF]$/, ''));
    if (t.type === 'ident') {
      const w = t.text.toLowerCase();
      if (w === 'inf' || w === 'infinity' || w === 'inff' || w === 'infinityf') return Infinity;
      if (w === 'nan' || w === 'nanf') return NaN;
    }
    throw this.tok.error(`'${f.name}' is a number: found ${describe(t)}`, t);
  }

  private integer(t: Token, kind: string, neg: boolean, f: FieldInfo): bigint {
    if (t.type !== 'int') {
      throw this.tok.error(`'${f.name}' is an integer (${f.kind}): found ${describe(t)}`, t);
    }
    const s = t.text;
    const mag = /^0[xX]/.test(s) ? BigInt(s) : /^0[0-7]+$/.test(s) ? BigInt('0o' + s.slice(1)) : BigInt(s);
    if (/^0[0-9]*[89]/.test(s)) throw this.tok.error(`'${s}' is not a valid octal number`, t);
    const v = neg ? -mag : mag;
    const range = INT_RANGES[kind];
    if (range && (v < range[0] || v > range[1])) throw this.tok.error(`${neg ? '-' : ''}${s} is out of range for '${f.name}' (${kind})`, t);
    return v;
  }

  private stringValue(f: FieldInfo): string | Uint8Array {
    const first = this.tok.current;
    if (first.type !== 'string') throw this.tok.error(`'${f.name}' is a ${f.kind}: expected a quoted string, found ${describe(first)}`);
    this.tok.next();
    if (f.kind === 'string' && first.value !== undefined && this.tok.current.type !== 'string') return first.value;
    const bytesOf = (t: Token) => t.bytes ?? Buffer.from(t.value!, 'utf8');
    const parts: Uint8Array[] = [bytesOf(first)];
    while (this.tok.current.type === 'string') {
      parts.push(bytesOf(this.tok.current));
      this.tok.next();
    }
    const bytes = parts.length === 1 ? parts[0] : Uint8Array.from(parts.flatMap((p) => [...p]));
    return f.kind === 'bytes' ? bytes : decodeString(bytes);
  }

  private need(f: FieldInfo): void {
    this.needValue(f.dialects);
  }

  private needValue(ds: ReadonlySet<string> | undefined): void {
    if (!ds) return;
    for (const d of this.dialects) if (!ds.has(d)) this.dialects.delete(d);
  }

  private unknownField(info: MessageInfo, t: Token): CaffeToolError {
    const near = closestNames(t.text, info.byName.keys());
    const homes = [...this.schema.messages.values()].filter((m) => m.byName.has(t.text)).map((m) => m.name);
    const hints: string[] = [];
    if (near.length) hints.push(`did you mean ${near.map((n) => `'${n}'`).join(' or ')}?`);
    if (homes.length) hints.push(`'${t.text}' is a field of ${homes.slice(0, 4).join(', ')}`);
    return this.tok.error(`unknown field '${t.text}' in ${info.name}`, t, hints.join('; ') || undefined);
  }

  private isSymbol(s: string): boolean {
    return this.tok.current.type === 'symbol' && this.tok.current.text === s;
  }

  private accept(s: string): boolean {
    if (!this.isSymbol(s)) return false;
    this.tok.next();
    return true;
  }

  private expect(s: string, why: string): void {
    if (!this.accept(s)) throw this.tok.error(`expected '${s}' ${why}, found ${describe(this.tok.current)}`);
  }
}

function describe(t: Token): string {
  if (t.type === 'eof') return 'the end of the file';
  if (t.type === 'string') return `the string ${t.text}`;
  return `'${t.text}'`;
}
