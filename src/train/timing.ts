// `time --backward`: the TRAIN net's forward and backward (one engine step) on a synthetic batch, timed as
// `caffe time` times Forward-Backward: warm-up, then N iterations, mean and percentiles; and the data-layer shapes
// `time` reads from a net's sources.
import { CaffeToolError } from '../errors.js';
import { loadNet } from '../net/load.js';
import type { Device } from '../runtime/session.js';
import { TrainingEngine } from './engine.js';
import { initialValues, readWeights } from './init.js';
import { netParams } from './params.js';
import { DataNet } from './solve.js';
import { readNetSource } from './solver-file.js';
import { syntheticBatch } from './synthetic.js';
import { type LayerTimes, PROFILED_RUNS, withProfileFolder } from '../runtime/layer-times.js';
import { timingStats, type TimingStats } from '../runtime/stats.js';

export interface StepTiming extends TimingStats {
  batch: number;
  iterations: number;
  warmup: number;
  iterationsPerSecond: number;
  /** With opts.layers: each layer's forward and backward kernel time per step, from a profiled session of its own. */
  layerTimes?: LayerTimes;
}

export async function timeTrainingStep(opts: {
  model: string; weights?: string; inputs?: Record<string, number[]>; device?: Device; iterations: number; warmup: number; layers?: boolean; notice?: (m: string) => void;
}): Promise<StepTiming> {
  const { net } = loadNet(opts.model, { phase: 'TRAIN', inputs: opts.inputs, notice: opts.notice });
  if (opts.weights) (await readWeights(opts.weights, opts.notice))(net);
  const values = initialValues(net, netParams(net).owned, 1);
  const engine = await TrainingEngine.create(net, { device: opts.device, values });
  try {
    const batch = syntheticBatch(net);
    for (let i = 0; i < opts.warmup; i++) await engine.step(batch);
    const times: number[] = [];
    for (let i = 0; i < opts.iterations; i++) {
      const t = performance.now();
      await engine.step(batch);
      times.push(performance.now() - t);
    }
    const stats = timingStats(times);
    const first = [...engine.graph.data.values()][0];
    const timing = { batch: first?.shape[0] ?? 1, iterations: opts.iterations, warmup: opts.warmup, ...stats, iterationsPerSecond: 1000 / stats.meanMs };
    // Profiling slows every node down: the per-layer table comes from a session of its own, after the timing.
    if (!opts.layers) return timing;
    const layerTimes = await withProfileFolder(async (profile) => {
      const profiled = await TrainingEngine.create(net, { device: opts.device, values, profile });
      try {
        for (let i = 0; i <= PROFILED_RUNS; i++) await profiled.step(batch);
        return profiled.layerTimes(profile, PROFILED_RUNS);
      } finally {
        await profiled.release();
      }
    });
    return { ...timing, layerTimes };
  } finally {
    await engine.release();
  }
}

/**
 * The shapes of a net's data-layer tops, read from their sources where the net cannot tell them (a train_val net's
 * LMDB Data layer: `caffe time -model train_val.prototxt` reads its database). Where a source cannot be read,
 * `notice` says why and the shapes are left to the caller's --shape.
 */
export async function dataLayerShapes(model: string, phase: 'TRAIN' | 'TEST', notice: (m: string) => void): Promise<Record<string, number[]> | undefined> {
  let data: DataNet | undefined;
  try {
    const { source, baseDir } = readNetSource(model, phase);
    data = await DataNet.open(source, baseDir, 1);
    const shapes: Record<string, number[]> = {};
    for (const l of data.net.layers) if (l.def.source) for (const t of l.tops) if (t.shape) shapes[t.name] = t.shape;
    return shapes;
  } catch (e) {
    if (!(e instanceof CaffeToolError)) throw e;
    notice(`the data layers' shapes could not be read from their sources (${e.message}); give them with --shape`);
    return undefined;
  } finally {
    await data?.close();
  }
}
