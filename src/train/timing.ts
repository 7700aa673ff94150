// `time --backward`: the TRAIN net's forward and backward (one engine step) on a synthetic batch, timed as
// `caffe time` times Forward-Backward: warm-up, then N iterations, mean and percentiles.
import { loadNet } from '../net/load.js';
import type { Device } from '../runtime/session.js';
import { TrainingEngine } from './engine.js';
import { initialValues, readWeights } from './init.js';
import { netParams } from './params.js';
import { syntheticBatch } from './synthetic.js';
import { timingStats, type TimingStats } from '../runtime/stats.js';

export interface StepTiming extends TimingStats {
  batch: number;
  iterations: number;
  warmup: number;
  iterationsPerSecond: number;
}

export async function timeTrainingStep(opts: {
  model: string; weights?: string; inputs?: Record<string, number[]>; device?: Device; iterations: number; warmup: number; notice?: (m: string) => void;
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
    return { batch: first?.shape[0] ?? 1, iterations: opts.iterations, warmup: opts.warmup, ...stats, iterationsPerSecond: 1000 / stats.meanMs };
  } finally {
    await engine.release();
  }
}
