/** Where a problem is: a file position, a layer, a blob. Any part may be missing. */
export interface Where {
  file?: string;
  line?: number;
  col?: number;
  layer?: string;
  blob?: number;
  /** A field path inside a message, such as `layer[3].convolution_param.pad`. */
  path?: string;
}

/** Exit codes of the command line: 1 bad data or a failure while running, 2 bad usage. */
export const BAD_DATA = 1;
export const BAD_USAGE = 2;

/** The one error type of caffe-tool: a message a user can act on, a hint, and where it happened. */
export class CaffeToolError extends Error {
  readonly hint?: string;
  readonly where: Where;
  readonly exitCode: number;

  constructor(message: string, opts: { hint?: string; where?: Where; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CaffeToolError';
    this.hint = opts.hint;
    this.where = opts.where ?? {};
    this.exitCode = opts.exitCode ?? BAD_DATA;
  }

  /** The same error, placed inside `outer` (a file, a layer) where it did not know that yet. */
  within(outer: Where): CaffeToolError {
    const where = { ...outer, ...this.where };
    if (outer.path && this.where.path) {
      where.path = this.where.path.startsWith('[') ? outer.path + this.where.path : `${outer.path}.${this.where.path}`;
    }
    const e = new CaffeToolError(this.message, { hint: this.hint, where, exitCode: this.exitCode, cause: this.cause });
    e.stack = this.stack;
    return e;
  }

  /** `file:line:col: layer 'conv1': blob 0: field a.b: message` and the hint on a second line. */
  format(): string {
    const w = this.where;
    const parts: string[] = [];
    const pos = [w.file, w.line, w.col].filter((x) => x !== undefined);
    if (pos.length) parts.push(pos.join(':'));
    if (w.layer !== undefined) parts.push(`layer '${w.layer}'`);
    if (w.blob !== undefined) parts.push(`blob ${w.blob}`);
    if (w.path) parts.push(w.path);
    const head = parts.length ? `${parts.join(': ')}: ` : '';
    return `${head}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

export function usageError(message: string, hint?: string): CaffeToolError {
  return new CaffeToolError(message, { hint, exitCode: BAD_USAGE });
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The known names closest to `name`, best first (at most `n`, and only plausible ones). */
export function closestNames(name: string, known: Iterable<string>, n = 3): string[] {
  const scored: [string, number][] = [];
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    const [short, long] = k.length < name.length ? [k, name] : [name, k];
    const contains = long.includes(short) && short.length * 2 >= long.length;
    if (d <= Math.max(2, Math.floor(k.length / 3)) || contains) scored.push([k, contains ? Math.min(d, 1) : d]);
  }
  return scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0])).slice(0, n).map((s) => s[0]);
}
