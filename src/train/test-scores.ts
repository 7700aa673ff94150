// A test pass's scores, for `caffe-tool test` (evaluate.ts) and the tests during training (solve.ts).
import type { StepResult, TrainingEngine } from './engine.js';

/**
 * A test's scores as Solver::Test and caffe.cpp's test() keep them: each output and Net::Forward's loss (every loss
 * top, read or not) summed over the batches in float, then averaged.
 */
export class TestScores {
  private readonly sums = new Map<string, Float32Array>();
  private loss = 0;

  constructor(private readonly engine: TrainingEngine) {}

  add(r: StepResult): void {
    if (this.engine.graph.loss) this.loss = Math.fround(this.loss + r.loss);
    for (const [name, v] of r.outputs) {
      const acc = this.sums.get(name) ?? new Float32Array(v.length);
      for (let j = 0; j < v.length; j++) acc[j] += v[j];
      this.sums.set(name, acc);
    }
  }

  means(batches: number): Map<string, Float32Array> {
    return new Map([...this.sums].map(([name, acc]) => [name, Float32Array.from(acc, (x) => x / batches)]));
  }

  meanLoss(batches: number): number {
    return Math.fround(this.loss / batches);
  }
}
