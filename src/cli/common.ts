// What several commands share: the never-overwrite-an-input rule.
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from '../errors.js';

/** Refuse to write over an input file unless --in-place was given. */
export function refuseOverwrite(input: string, output: string, inPlace?: boolean): void {
  if (inPlace || !sameFile(input, output)) return;
  throw usageError(`${output} is the input file`, 'caffe-tool never overwrites an input: choose another output, or add --in-place');
}

function sameFile(a: string, b: string): boolean {
  try {
    const [sa, sb] = [statSync(a), statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    try {
      return realpathSync(a) === resolve(b);
    } catch {
      return resolve(a) === resolve(b);
    }
  }
}

/** --phase train|test (any case) as Caffe's phase names. */
export function parsePhase(phase: string | undefined): 'TRAIN' | 'TEST' | undefined {
  if (phase === undefined) return undefined;
  const p = phase.toUpperCase();
  if (p !== 'TRAIN' && p !== 'TEST') throw usageError(`--phase must be train or test, not '${phase}'`);
  return p;
}

/** `--input NAME=N,C,H,W` (repeatable) as a name -> shape map. */
export function parseInputShapes(specs: string[] | undefined): Record<string, number[]> | undefined {
  if (!specs?.length) return undefined;
  const out: Record<string, number[]> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(\d+(?:,\d+)*)$/.exec(spec);
    if (!m) throw usageError(`--input takes NAME=N,C,H,W, not '${spec}'`, 'for example --input data=1,3,224,224');
    out[m[1]] = m[2].split(',').map(Number);
  }
  return out;
}

/** A note for the user on stderr (stdout stays the command's output). */
export function notice(message: string): void {
  process.stderr.write(`caffe-tool: note: ${message}\n`);
}
