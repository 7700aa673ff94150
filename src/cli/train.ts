// caffe-tool train: `caffe train -solver s.prototxt [-weights w.caffemodel | -snapshot s.solverstate] [-gpu 0]`.
import type { Command } from 'commander';
import { deviceOf, withDeviceOptions, type DeviceOptions } from './device.js';
import { usageError } from '../errors.js';
import { g6, TrainLog } from '../train/log.js';
import { train, type SignalEffect } from '../train/solve.js';
import { readSolverFile } from '../train/solver-file.js';
import { notice } from './common.js';

interface Options extends DeviceOptions {
  solver?: string;
  weights?: string;
  snapshot?: string;
  logJson?: string;
  sigint_effect: string;
  sighup_effect: string;
  iterations?: string;
  quiet?: boolean;
  monitor?: boolean;
}

const EFFECTS = ['stop', 'snapshot', 'none'];

export function register(program: Command): void {
  withDeviceOptions(program.command('train').description('train or fine-tune a net from a solver prototxt, as `caffe train` does; Caffe-compatible snapshots'))
    .option('--solver <prototxt>', 'the solver file (also -solver)')
    .option('--weights <caffemodels>', 'start from these weights, copied by layer name (comma-separated, also -weights)')
    .option('--snapshot <solverstate>', 'resume from a .solverstate (also -snapshot)')
    .option('--log-json <file>', 'also write one JSON object per display and test to FILE')
    .option('--sigint_effect <effect>', 'on SIGINT: stop (after a snapshot), snapshot, or none', 'stop')
    .option('--sighup_effect <effect>', 'on SIGHUP: snapshot (and go on), stop, or none', 'snapshot')
    .option('--iterations <n>', 'stop after this iteration instead of max_iter')
    .option('--quiet', 'no log lines on stderr (the JSON log and snapshots are still written)')
    .option('--monitor', 'every display iterations: dead ReLU units, activation and weight norms, gradient/weight ratios, with warnings')
    .action(async (opts: Options) => {
      if (!opts.solver) throw usageError('train needs a solver: --solver S.prototxt (or -solver)');
      if (opts.weights && opts.snapshot) {
        throw usageError('give -weights or -snapshot, not both', '-weights starts a new run from trained weights; -snapshot resumes a run with its solver state');
      }
      for (const [flag, v] of [['--sigint_effect', opts.sigint_effect], ['--sighup_effect', opts.sighup_effect]]) {
        if (!EFFECTS.includes(v)) throw usageError(`${flag} must be stop, snapshot or none, not '${v}'`);
      }
      const stopAt = opts.iterations === undefined ? undefined : Number(opts.iterations);
      if (stopAt !== undefined && !(Number.isInteger(stopAt) && stopAt >= 0)) throw usageError(`--iterations must be a whole number, not '${opts.iterations}'`);
      const device = deviceOf(opts);
      const solver = readSolverFile(opts.solver, notice);
      const log = new TrainLog({ jsonPath: opts.logJson, quiet: opts.quiet });
      try {
        const result = await train(solver, {
          weights: opts.weights?.split(',').filter(Boolean),
          snapshot: opts.snapshot,
          device,
          log,
          sigintEffect: opts.sigint_effect as SignalEffect,
          sighupEffect: opts.sighup_effect as SignalEffect,
          stopAt,
          monitor: opts.monitor,
        });
        // The float values as Caffe's log prints them (%g), not as the doubles that hold them (0.15000000596...).
        const tests = result.tests.map((t, i) => `test net #${i}: ${Object.entries(t).map(([k, v]) => `${k} = ${Array.isArray(v) ? `[${v.map(g6).join(', ')}]` : g6(v)}`).join(', ')}`);
        process.stdout.write(
          `${result.stoppedEarly ? 'stopped early' : 'done'} at iteration ${result.iter}, loss ${g6(result.loss)}\n` +
            tests.map((t) => `${t}\n`).join('') +
            (result.snapshots.length ? `snapshots: ${result.snapshots.join(', ')}\n` : ''),
        );
      } finally {
        log.close();
      }
    });
}
