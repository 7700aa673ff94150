// Caffe's own single-dash long flags (`caffe train -solver s.prototxt -gpu 0`), accepted as aliases.
import { usageError } from '../errors.js';

const CAFFE_FLAGS = ['model', 'weights', 'solver', 'snapshot', 'iterations', 'phase', 'level', 'stage', 'sigint_effect', 'sighup_effect'];

/** Rewrite `-model x` to `--model x`, and `-gpu N` to `--device cuda:N`. */
export function normaliseArgv(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const m = /^-([a-z_]+)(?:=(.*))?$/.exec(a);
    if (m && m[1] === 'gpu') {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw usageError('-gpu needs a device number', 'for example -gpu 0');
      if (v === 'all') throw usageError('-gpu all is not supported: caffe-tool runs on one device', 'use -gpu 0 (or --device cuda:0)');
      if (!/^\d+$/.test(v)) throw usageError(`-gpu takes one device number, not '${v}'`, 'for example -gpu 0');
      out.push('--device', `cuda:${v}`);
    } else if (m && CAFFE_FLAGS.includes(m[1])) {
      out.push(`--${m[1]}${m[2] !== undefined ? `=${m[2]}` : ''}`);
    } else out.push(a);
  }
  return out;
}
