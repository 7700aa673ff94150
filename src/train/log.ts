// The training log: Caffe's own glog lines on stderr (so parse_log.py and other parsers read them), one JSON object
// per event in --log-json, and on a TTY a progress line kept at the bottom.
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatFloat, formatG } from '../io/text/print.js';
import type { HealthReport } from './monitor.js';

export type LogEvent =
  | { phase: 'train'; iter: number; seconds: number; loss: number; lr?: number; outputs: Record<string, number | number[]> }
  | { phase: 'test'; iter: number; seconds: number; net: number; outputs: Record<string, number | number[]> }
  | ({ phase: 'monitor'; iter: number; seconds: number } & HealthReport);

/** A number as C++'s ostream prints a float (%g, 6 significant digits). */
export const g6 = (v: number): string => formatG(v, 6);

/** `loss = 0.23 (* 1 = 0.23 loss)`: an output value as Caffe's solver and `caffe test` print it. */
export const outputLine = (name: string, x: number, lossWeight: number): string =>
  `${name} = ${g6(x)}${lossWeight ? ` (* ${g6(lossWeight)} = ${g6(lossWeight * x)} loss)` : ''}`;

export class TrainLog {
  private readonly started = Date.now();
  private readonly json: number | undefined;
  private progressShown = false;

  constructor(private readonly opts: { jsonPath?: string; quiet?: boolean; write?: (line: string) => void; tty?: boolean } = {}) {
    this.json = opts.jsonPath ? openSync(opts.jsonPath, 'w') : undefined;
  }

  seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** One glog line: `I1126 12:14:13.123456 12345 solver.cpp:218] message`. */
  info(source: string, message: string): void {
    if (this.opts.quiet) return;
    this.clearProgress();
    this.write(`${glogPrefix('I', new Date())} ${source}] ${message}\n`);
  }

  warn(source: string, message: string): void {
    this.clearProgress();
    this.write(`${glogPrefix('W', new Date())} ${source}] ${message}\n`);
  }

  event(e: LogEvent): void {
    // float32 values printed as their shortest decimal (0.15, not 0.15000000596046448).
    if (this.json !== undefined) writeSync(this.json, `${JSON.stringify(e, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(formatFloat(v)) : v))}\n`);
  }

  /** On a TTY: `[=====>     ] 120/1000  loss 0.231  12.5 it/s`, redrawn in place. */
  progress(iter: number, max: number, loss: number, perSecond: number): void {
    if (!(this.opts.tty ?? process.stderr.isTTY) || this.opts.quiet) return;
    const width = 30;
    const done = Math.min(width, Math.round((iter / Math.max(1, max)) * width));
    const bar = `${'='.repeat(Math.max(0, done - 1))}${done ? '>' : ''}${' '.repeat(width - done)}`;
    this.write(`\r[${bar}] ${iter}/${max}  loss ${g6(loss)}  ${perSecond.toFixed(1)} it/s\x1b[K`);
    this.progressShown = true;
  }

  close(): void {
    this.clearProgress();
    if (this.json !== undefined) closeSync(this.json);
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.write('\r\x1b[K');
    this.progressShown = false;
  }

  private write(text: string): void {
    if (this.opts.write) this.opts.write(text);
    else process.stderr.write(text);
  }
}

function glogPrefix(level: string, d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const micros = String(d.getMilliseconds() * 1000).padStart(6, '0');
  return `${level}${two(d.getMonth() + 1)}${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${micros} ${String(process.pid).padStart(5)}`;
}
