// Message -> protobuf text format, exactly as protobuf's C++ TextFormat prints it (what Caffe writes):
// fields in field-number order, two-space indent, floats in the shortest %g form that reads back, strings
// C-escaped, unknown fields by number last.
import { CaffeToolError } from '../../errors.js';
import { checkFieldNames, type Message, UNKNOWN_FIELDS, type UnknownField } from '../message.js';
import type { FieldInfo, MessageInfo } from '../schema.js';
import { I32, I64, LEN, VARINT, walkField } from '../binary/wire.js';

/** Print to a string. */
export function printText(msg: Message, info: MessageInfo): string {
  const parts: string[] = [];
  printTextTo(msg, info, (s) => parts.push(s));
  return parts.join('');
}

/** Print in chunks to `out` (a caffemodel printed as text has a line per float). */
export function printTextTo(msg: Message, info: MessageInfo, out: (chunk: string) => void): void {
  const p = new Printer(out);
  p.message(msg, info, '');
  p.flush();
}

class Printer {
  private lines: string[] = [];
  private size = 0;

  constructor(private readonly out: (chunk: string) => void) {}

  private line(s: string): void {
    this.lines.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }

  flush(): void {
    if (this.lines.length) this.out(this.lines.join(''));
    this.lines = [];
    this.size = 0;
  }

  message(msg: Message, info: MessageInfo, indent: string): void {
    checkFieldNames(msg, info);
    for (const f of info.fields) {
      const v = msg[f.name];
      if (v === undefined || v === null) continue;
      try {
        if (f.repeated) {
          const items = v as ArrayLike<unknown>;
          for (let i = 0; i < items.length; i++) {
            try {
              this.field(f, items[i], indent);
            } catch (e) {
              throw e instanceof CaffeToolError ? e.within({ path: `[${i}]` }) : e;
            }
          }
        } else this.field(f, v, indent);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ path: f.name }) : e;
      }
    }
    this.unknown(msg[UNKNOWN_FIELDS] ?? [], indent);
  }

  private field(f: FieldInfo, v: unknown, indent: string): void {
    if (f.kind === 'message') {
      this.line(`${indent}${f.name} {\n`);
      this.message(v as Message, f.message!, indent + '  ');
      this.line(`${indent}}\n`);
    } else {
      this.line(`${indent}${f.name}: ${formatScalar(f, v)}\n`);
    }
  }

  private unknown(fields: UnknownField[], indent: string): void {
    for (const u of fields) {
      const { value, bodyStart } = readUnknown(u.raw);
      if (u.wireType === VARINT) this.line(`${indent}${u.number}: ${value}\n`);
      else if (u.wireType === I32) this.line(`${indent}${u.number}: 0x${value.toString(16).padStart(8, '0')}\n`);
      else if (u.wireType === I64) this.line(`${indent}${u.number}: 0x${value.toString(16).padStart(16, '0')}\n`);
      else if (u.wireType === LEN) {
        const body = u.raw.subarray(bodyStart);
        const nested = body.length ? splitFields(body) : null;
        if (nested) {
          this.line(`${indent}${u.number} {\n`);
          this.unknown(nested, indent + '  ');
          this.line(`${indent}}\n`);
        } else this.line(`${indent}${u.number}: "${cEscape(body)}"\n`);
      }
    }
  }
}

export function formatScalar(f: FieldInfo, v: unknown): string {
  switch (f.kind) {
    case 'float': return formatFloat(v as number);
    case 'double': return formatDouble(v as number);
    case 'bool': return v ? 'true' : 'false';
    case 'string': return `"${cEscape(typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array))}"`;
    case 'bytes': return `"${cEscape(v as Uint8Array)}"`;
    case 'enum': return String(v);
    default: return String(v);
  }
}

/** protobuf's SimpleFtoa: %.6g, or %.9g when that does not read back as the same float (strtof fails on subnormals). */
export function formatFloat(v: number): string {
  v = Math.fround(v);
  const special = specialReal(v);
  if (special) return special;
  const short = formatG(v, 6);
  const subnormal = v !== 0 && Math.abs(v) < 2 ** -126;
  return !subnormal && Math.fround(Number(short)) === v ? short : formatG(v, 9);
}

/** protobuf's SimpleDtoa: %.15g, or %.17g when that does not read back as the same double (subnormals included). */
export function formatDouble(v: number): string {
  const special = specialReal(v);
  if (special) return special;
  const short = formatG(v, 15);
  return Number(short) === v ? short : formatG(v, 17);
}

function specialReal(v: number): string | undefined {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return undefined;
}

/** C's printf("%.{p}g", v), rounding the exact binary value half to even as glibc does; nan, inf, -inf as glibc. */
export function formatG(v: number, p: number): string {
  const special = specialReal(v);
  if (special) return special;
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return `${sign}0`;
  let { digits, exp } = roundDigits(exactDecimal(Math.abs(v)), p);
  digits = digits.replace(/0+$/, '') || '0';
  if (exp < -4 || exp >= p) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}${frac ? `.${frac}` : ''}`;
}

/** The exact decimal value of a positive finite double: all its digits, and the power of ten of the first. */
function exactDecimal(v: number): { digits: string; exp: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  const hi = dv.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(dv.getUint32(4));
  if (biased) mant |= 1n << 52n;
  const e2 = (biased || 1) - 1075;
  // v = mant * 2^e2 = D * 10^k.
  const [D, k] = e2 >= 0 ? [mant << BigInt(e2), 0] : [mant * 5n ** BigInt(-e2), e2];
  const digits = D.toString();
  return { digits, exp: digits.length - 1 + k };
}

/** Round to p significant digits, half to even; the result has exactly p digits. */
function roundDigits(x: { digits: string; exp: number }, p: number): { digits: string; exp: number } {
  const { digits, exp } = x;
  if (digits.length <= p) return { digits: digits.padEnd(p, '0'), exp };
  const keep = digits.slice(0, p);
  const rest = digits.slice(p);
  const half = rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1)));
  const tie = rest[0] === '5' && !/[1-9]/.test(rest.slice(1));
  const up = half || (tie && Number(keep[keep.length - 1]) % 2 === 1);
  if (!up) return { digits: keep, exp };
  const bumped = (BigInt(keep) + 1n).toString();
  return bumped.length > p ? { digits: bumped.slice(0, p), exp: exp + 1 } : { digits: bumped, exp };
}

/** protobuf's CEscape: C escapes for quotes, backslash and control bytes; other bytes >= 0x7f as octal. */
export function cEscape(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    switch (b) {
      case 0x0a: s += '\\n'; break;
      case 0x0d: s += '\\r'; break;
      case 0x09: s += '\\t'; break;
      case 0x22: s += '\\"'; break;
      case 0x27: s += "\\'"; break;
      case 0x5c: s += '\\\\'; break;
      default:
        s += b < 0x20 || b >= 0x7f ? '\\' + b.toString(8).padStart(3, '0') : String.fromCharCode(b);
    }
  }
  return s;
}

/** The value of an unknown field's raw bytes (after its key): the number for scalars, where the body starts for LEN. */
function readUnknown(raw: Uint8Array): { value: bigint; bodyStart: number } {
  let i = 0;
  while (raw[i] & 0x80) i++;
  const wire = raw[0] & 7;
  i++;
  if (wire === I32 || wire === I64) {
    const n = wire === I32 ? 4 : 8;
    let v = 0n;
    for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(raw[i + k]);
    return { value: v, bodyStart: i + n };
  }
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = raw[i++];
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (b < 0x80) break;
  }
  return { value: v, bodyStart: i };
}

/** Split bytes into fields if they parse cleanly as a message, as TextFormat does before printing `N { }`. */
function splitFields(body: Uint8Array): UnknownField[] | null {
  const out: UnknownField[] = [];
  let i = 0;
  while (i < body.length) {
    const f = walkField(body, i);
    if (!f) return null;
    const end = i + (f.wire === LEN ? f.valueStart + f.length : f.valueEnd!);
    if (end > body.length) return null;
    out.push({ number: f.number, wireType: f.wire, raw: body.subarray(i, end) });
    i = end;
  }
  return out;
}
