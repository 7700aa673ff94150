// Reads a training log back: Caffe's glog lines (what real Caffe and `caffe-tool train` write on stderr) or the
// JSON lines of `caffe-tool train --log-json`. The glog reader extracts what Caffe's tools/extra/parse_log.py does,
// with its rules for which lines count, so `--csv` gives the same tables.
import { readFileSync, statSync } from 'node:fs';
import { CaffeToolError } from '../errors.js';

/** One row of parse_log.py's train or test table: the outputs in the order the log printed them. */
export interface LogRow {
  iter: number;
  seconds: number;
  /** The last `lr = ` seen before the row began (parse_log.py's rule); NaN when none was. */
  lr: number;
  outputs: Map<string, number>;
}

export interface LrPoint {
  iter: number;
  seconds: number;
  lr: number;
}

export interface ParsedLog {
  format: 'glog' | 'json';
  train: LogRow[];
  test: LogRow[];
  /** Every learning rate the log printed, at the iteration it was printed for. */
  lr: LrPoint[];
}

/** Read and parse a log file; the year of the glog time stamps comes from glog's header or the file's date. */
export function readLog(path: string): ParsedLog {
  let text: string;
  let year: number;
  try {
    text = readFileSync(path, 'utf8');
    year = statSync(path).mtime.getFullYear();
  } catch (e) {
    throw new CaffeToolError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseLog(text, { year, file: path });
}

export function parseLog(text: string, opts: { year?: number; file?: string } = {}): ParsedLog {
  const lines = text.split('\n').map(cleanLine);
  const first = lines.find((l) => l.trim() !== '');
  const log = first?.trimStart().startsWith('{') ? parseJsonLines(lines) : parseGlog(lines, opts.year ?? new Date().getFullYear());
  if (!log.train.length && !log.test.length) {
    throw new CaffeToolError('no training or test records in this log: nothing to plot', {
      where: { file: opts.file },
      hint: "expected Caffe's log lines (`Iteration 100, loss = 0.23`, `Train net output #0: loss = ...`, `Test net output #0: accuracy = ...`) or the JSON lines of caffe-tool train --log-json",
    });
  }
  return log;
}

/** A line as the terminal showed it: CRLF endings, and progress bars redrawn with `\r` and ANSI erase codes. */
function cleanLine(line: string): string {
  const cr = line.replace(/\r$/, '').lastIndexOf('\r');
  return (cr >= 0 ? line.slice(cr + 1) : line).replace(/\r$/, '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

const RE_ITERATION = /Iteration (\d+)/;
const RE_TRAIN_OUTPUT = /Train net output #(\d+): (\S+) = ([.\deE+-]+)/;
const RE_TEST_OUTPUT = /Test net output #(\d+): (\S+) = ([.\deE+-]+)/;
const RE_LR = /lr = ([-+]?[0-9]*\.?[0-9]+([eE]?[-+]?[0-9]+)?)/;
// Not in parse_log.py: the display line (Caffe 1.0 adds `(12.5 iter/s, 8s/100 iters)`) and Caffe 0.9's test
// scores, for logs that print no `Train net output` / `Test net output` lines.
const RE_DISPLAY_LOSS = /Iteration (\d+)(?: \([^)]*\))?, loss = ([.\deE+-]+)/;
const RE_TEST_SCORE = /Test score #(\d+): ([.\deE+-]+)/;
const RE_CREATED = /^Log file created at: (\d{4})\//;

function parseGlog(lines: string[], fallbackYear: number): ParsedLog {
  let year = fallbackYear;
  for (const line of lines.slice(0, 5)) {
    const m = RE_CREATED.exec(line);
    if (m) year = Number(m[1]);
  }
  // parse_log.py takes the start time from the first line that says "Solving" and reads only the lines after it.
  // Without one it would read nothing; here the first time-stamped line after the first iteration starts the clock.
  const solving = lines.findIndex((l) => l.includes('Solving'));
  let start = solving >= 0 ? glogTime(lines[solving], year) : undefined;
  let lastMonth = start?.month ?? 0;
  const train = new Table();
  const test = new Table();
  const displayLosses: LogRow[] = [];
  const lrs: LrPoint[] = [];
  let iteration = -1;
  let lr = NaN;
  for (const line of lines.slice(solving + 1)) {
    // As in parse_log.py, any line naming an iteration moves the iteration on, time stamp or not.
    const it = RE_ITERATION.exec(line);
    if (it) iteration = Number(it[1]);
    if (iteration === -1) continue;
    let time = glogTime(line, year);
    if (!time) continue; // not a glog line: parse_log.py skips it (or, for an empty line, stops with an IndexError)
    if (start === undefined) {
      start = time;
      lastMonth = time.month;
    }
    if (time.month < lastMonth) {
      year += 1; // the log went past New Year's Eve
      time = glogTime(line, year)!;
    }
    lastMonth = time.month;
    const seconds = (time.micros - start.micros) / 1e6;
    const lrMatch = RE_LR.exec(line);
    if (lrMatch && Number.isFinite(Number(lrMatch[1]))) {
      lr = Number(lrMatch[1]);
      lrs.push({ iter: iteration, seconds, lr });
    }
    train.feed(RE_TRAIN_OUTPUT.exec(line), iteration, seconds, lr);
    const score = RE_TEST_SCORE.exec(line);
    test.feed(score ? [score[0], score[1], `score #${score[1]}`, score[2]] : RE_TEST_OUTPUT.exec(line), iteration, seconds, lr);
    const display = RE_DISPLAY_LOSS.exec(line);
    if (display && Number.isFinite(Number(display[2]))) {
      displayLosses.push({ iter: iteration, seconds, lr, outputs: new Map([['loss', Number(display[2])]]) });
    }
  }
  // Logs without `Train net output` lines (Caffe 0.9) still print the loss on the display line, after the rate.
  const trainRows = train.rows.length || train.open ? train.finish() : displayLosses;
  if (trainRows.length > 1 && Number.isNaN(trainRows[0].lr)) trainRows[0].lr = trainRows[1].lr;
  return { format: 'glog', train: trainRows, test: test.finish(), lr: lrs };
}

/** parse_log.py's row builder: outputs gather into one row per iteration; a row is complete when it has as many
 * columns as the first. */
class Table {
  readonly rows: LogRow[] = [];
  open: LogRow | undefined;

  feed(match: ArrayLike<string> | null, iter: number, seconds: number, lr: number): void {
    const value = match ? Number(match[3]) : NaN;
    if (match && !Number.isNaN(value)) {
      if (!this.open || this.open.iter !== iter) {
        if (this.open) this.rows.push(this.open);
        this.open = { iter, seconds, lr, outputs: new Map() };
      }
      this.open.outputs.set(match[2], value);
    }
    if (this.open && this.rows.length >= 1 && this.open.outputs.size === this.rows[0].outputs.size) {
      this.rows.push(this.open);
      this.open = undefined;
    }
  }

  /** parse_log.py drops a row still open at the end (the only row of a short log, or a last one cut short);
   * it is kept here. */
  finish(): LogRow[] {
    if (this.open) this.rows.push(this.open);
    this.open = undefined;
    return fixInitialLr(this.rows);
  }
}

/** parse_log.py's fix_initial_nan_learning_rate: the first row takes the second row's rate (lr is printed after the
 * first outputs), whatever the first row had. */
function fixInitialLr(rows: LogRow[]): LogRow[] {
  if (rows.length > 1) rows[0].lr = rows[1].lr;
  return rows;
}

/** A glog time stamp (`I1231 23:58:30.845961 ...`) as microseconds since the epoch, read as parse_log.py's
 * extract_seconds.py does: the first two words of the line, the year given. */
function glogTime(line: string, year: number): { micros: number; month: number } | undefined {
  const m = /^\S(\d\d)(\d+)\s+(\d+):(\d+):(\d+)(?::\d+)*\.(\d+)(?:\s|$)/.exec(line.trim());
  if (!m) return undefined;
  const [month, day, hour, minute, second, micro] = m.slice(1).map(Number);
  if (micro > 999999 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined; // 31 June, month 13
  return { micros: ms * 1000 + micro, month };
}

interface JsonEvent {
  phase?: unknown;
  iter?: unknown;
  seconds?: unknown;
  loss?: unknown;
  lr?: unknown;
  net?: unknown;
  outputs?: unknown;
}

function parseJsonLines(lines: string[]): ParsedLog {
  const train: LogRow[] = [];
  const test: LogRow[] = [];
  const lrs: LrPoint[] = [];
  let lr = NaN;
  for (const line of lines) {
    let e: JsonEvent;
    try {
      e = JSON.parse(line) as JsonEvent;
    } catch {
      continue; // a blank line, or the last line of a run killed while writing it
    }
    if (typeof e !== 'object' || e === null || typeof e.iter !== 'number' || typeof e.seconds !== 'number') continue;
    const outputs = new Map<string, number>();
    const net = typeof e.net === 'number' && e.net > 0 ? `net${e.net}/` : '';
    // Vector outputs (per-class values) are left out, as parse_log.py keeps only one number per output name.
    for (const [name, v] of Object.entries(typeof e.outputs === 'object' && e.outputs ? e.outputs : {})) {
      if (typeof v === 'number') outputs.set(net + name, v);
    }
    if (e.phase === 'train') {
      if (typeof e.lr === 'number') {
        lr = e.lr;
        lrs.push({ iter: e.iter, seconds: e.seconds, lr });
      }
      if (!outputs.size && typeof e.loss === 'number') outputs.set('loss', e.loss);
      train.push({ iter: e.iter, seconds: e.seconds, lr, outputs });
    } else if (e.phase === 'test') {
      test.push({ iter: e.iter, seconds: e.seconds, lr, outputs });
    }
  }
  // The first test runs before any training step printed a rate: it takes the first rate there is.
  for (const row of test) if (Number.isNaN(row.lr) && lrs.length) row.lr = lrs[0].lr;
  return { format: 'json', train, test, lr: lrs };
}

/** The output names of a table's rows, in the order they first appear. */
export function outputNames(rows: LogRow[]): string[] {
  const names: string[] = [];
  for (const row of rows) for (const name of row.outputs.keys()) if (!names.includes(name)) names.push(name);
  return names;
}

/** A table as parse_log.py writes it: NumIters, Seconds, LearningRate, then the outputs; numbers as Python prints
 * floats, excel dialect (CRLF line ends). */
export function tableCsv(rows: LogRow[]): string {
  const names = outputNames(rows);
  const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['NumIters', 'Seconds', 'LearningRate', ...names].map(cell).join(',')];
  for (const row of rows) {
    const values = names.map((n) => (row.outputs.has(n) ? pyFloat(row.outputs.get(n)!) : ''));
    lines.push([pyFloat(row.iter), pyFloat(row.seconds), pyFloat(row.lr), ...values].join(','));
  }
  return lines.map((l) => `${l}\r\n`).join('');
}

/** Python's repr of a float: the shortest digits that read back, in exponent form below 1e-4 and from 1e16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, e] = x.toExponential().split('e');
  const exp = Number(e);
  const sign = x < 0 ? '-' : '';
  const digits = mantissa.replace(/[-.]/g, '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits.padEnd(exp + 1, '0')}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}
