// `time --backward`: the TRAIN net's forward and backward (one engine step) on a synthetic batch, timed as
// `caffe time` times Forward-Backward: warm-up, then N iterations, mean and percentiles.
import { loadNet } from '../net/load.js';
import type { Device } from '../runtime/session.js';
import { TrainingEngine } from './engine.js';
import { initialValues, readWeights } from './init.js';
import { netParams } from './params.js';
import { syntheticBatch } from './synthetic.js';

export interface StepTiming {
  batch: number;
  iterations: number;
  warmup: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
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
    const sorted = [...times].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const first = [...engine.graph.data.values()][0];
    return {
      batch: first?.shape[0] ?? 1, iterations: opts.iterations, warmup: opts.warmup,
      meanMs: mean, p50Ms: pct(50), p99Ms: pct(99), minMs: sorted[0], iterationsPerSecond: 1000 / mean,
    };
  } finally {
    await engine.release();
  }
}
