// Protobuf text format tokens: identifiers, numbers, strings, symbols; `#` comments and whitespace skipped.
import { CaffeToolError } from '../../errors.js';

export type TokenType = 'ident' | 'int' | 'float' | 'string' | 'symbol' | 'eof';

export interface Token {
  type: TokenType;
  /** The text as written (for strings: the value is `value` when it has no escapes, else the decoded `bytes`). */
  text: string;
  value?: string;
  bytes?: Uint8Array;
  line: number;
  col: number;
}

export class Tokenizer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private readonly text: string;
  current!: Token;

  constructor(text: string, private readonly file?: string) {
    this.text = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (text.charCodeAt(0) === 0xfeff) this.lineStart = -1; // keep columns as an editor counts them
    this.next();
  }

  error(message: string, at: { line: number; col: number } = this.current, hint?: string): CaffeToolError {
    return new CaffeToolError(message, { hint, where: { file: this.file, line: at.line, col: at.col } });
  }

  next(): Token {
    this.skipSpace();
    const start = this.pos;
    const line = this.line;
    const col = start - this.lineStart + 1;
    const t = this.text;
    if (start >= t.length) return (this.current = { type: 'eof', text: '', line, col });
    const c = t[start];
    if (isIdentStart(t.charCodeAt(start))) {
      let end = start + 1;
      while (end < t.length && (isIdentStart(t.charCodeAt(end)) || isDigit(t.charCodeAt(end)))) end++;
      this.pos = end;
      return (this.current = { type: 'ident', text: t.slice(start, end), line, col });
    }
    if (isDigit(t.charCodeAt(start)) || (c === '.' && isDigit(t.charCodeAt(start + 1)))) return (this.current = this.number(line, col));
    if (c === '"' || c === "'") return (this.current = this.string(c, line, col));
    this.pos++;
    return (this.current = { type: 'symbol', text: c, line, col });
  }

  private skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '#') {
        while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      } else break;
    }
  }

  private number(line: number, col: number): Token {
    const t = this.text;
    const start = this.pos;
    let type: TokenType = 'int';
    if (t[start] === '0' && (t[start + 1] === 'x' || t[start + 1] === 'X')) {
      let end = start + 2;
      while (end < t.length && /[0-9A-Fa-f]/.test(t[end])) end++;
      if (end === start + 2) throw this.error(`'0x' must be followed by hex digits`, { line, col });
      this.pos = end;
    } else {
      let end = start;
      while (end < t.length && isDigit(t.charCodeAt(end))) end++;
      if (t[end] === '.') {
        type = 'float';
        end++;
        while (end < t.length && isDigit(t.charCodeAt(end))) end++;
      }
      if (t[end] === 'e' || t[end] === 'E') {
        let e = end + 1;
        if (t[e] === '+' || t[e] === '-') e++;
        if (!/[0-9]/.test(t[e] ?? '')) throw this.error(`'${t.slice(start, e)}' needs digits after its exponent`, { line, col });
        type = 'float';
        end = e;
        while (end < t.length && isDigit(t.charCodeAt(end))) end++;
      }
      if (t[end] === 'f' || t[end] === 'F') {
        type = 'float';
        end++;
      }
      this.pos = end;
    }
    if (/[A-Za-z0-9_.]/.test(t[this.pos] ?? '')) {
      throw this.error(`'${t.slice(start, this.pos + 1)}' is not a number`, { line, col });
    }
    return { type, text: t.slice(start, this.pos), line, col };
  }

  private string(quote: string, line: number, col: number): Token {
    const t = this.text;
    let i = this.pos + 1;
    // Most strings (names, paths) have no escapes: their value is the text between the quotes.
    while (i < t.length && t[i] !== quote && t[i] !== '\\' && t[i] !== '\n') i++;
    if (t[i] === quote) {
      const value = t.slice(this.pos + 1, i);
      const text = t.slice(this.pos, i + 1);
      this.pos = i + 1;
      return { type: 'string', text, value, line, col };
    }
    const out: number[] = [];
    i = this.pos + 1;
    const pushUtf8 = (s: string) => out.push(...Buffer.from(s, 'utf8'));
    for (;;) {
      if (i >= t.length || t[i] === '\n') throw this.error('string is not closed before the end of the line', { line, col });
      const c = t[i];
      if (c === quote) {
        i++;
        break;
      }
      if (c !== '\\') {
        const cp = t.codePointAt(i)!;
        pushUtf8(String.fromCodePoint(cp));
        i += cp > 0xffff ? 2 : 1;
        continue;
      }
      const e = t[i + 1];
      i += 2;
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63 };
      if (e in simple) out.push(simple[e]);
      else if (/[0-7]/.test(e)) {
        let j = i - 1;
        let v = 0;
        while (j < i + 2 && /[0-7]/.test(t[j] ?? '')) v = v * 8 + Number(t[j++]);
        i = j;
        out.push(v & 0xff);
      } else if (e === 'x' || e === 'X') {
        let j = i;
        let v = 0;
        while (j < i + 2 && /[0-9A-Fa-f]/.test(t[j] ?? '')) v = v * 16 + parseInt(t[j++], 16);
        if (j === i) throw this.error('\\x must be followed by hex digits', { line: this.line, col: i - this.lineStart });
        i = j;
        out.push(v);
      } else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = t.slice(i, i + n);
        if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== n) {
          throw this.error(`\\${e} must be followed by ${n} hex digits`, { line: this.line, col: i - this.lineStart });
        }
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) throw this.error(`\\${e}${hex} is past the last Unicode code point (10FFFF)`, { line: this.line, col: i - 1 - this.lineStart });
        pushUtf8(String.fromCodePoint(code));
        i += n;
      } else {
        throw this.error(`unknown escape '\\${e ?? ''}' in string`, { line: this.line, col: i - 1 - this.lineStart });
      }
    }
    const text = t.slice(this.pos, i);
    this.pos = i;
    return { type: 'string', text, bytes: Uint8Array.from(out), line, col };
  }
}

/** A-Z, a-z, _ (the first character of an identifier; digits may follow). */
function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
