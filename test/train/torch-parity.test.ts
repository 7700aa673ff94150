// The independent check of issue 8: small nets trained 20 iterations by caffe-tool (TrainingEngine + Solver) and
// by PyTorch with Caffe's update rules written out (fixtures/make_train_refs.py -> fixtures/train/parity_*.json),
// from the same starting weights and batch: the loss at each iteration and the weights' sum and sum of squares
// after each update agree within 1e-4 relative.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { parseCaffeText } from '../../src/io/files.js';
import { buildNet } from '../../src/net/net.js';
import { TrainingEngine } from '../../src/train/engine.js';
import { Solver, sgdInGraph } from '../../src/train/solver.js';
import { fixture } from '../helpers.js';

interface Reference {
  net: string;
  solver: string;
  weights: Record<string, number[]>;
  batch: Record<string, number[]>;
  iterations: { loss: number; sum: number; sumsq: number }[];
}

const TOLERANCE = 1e-4;

/** `inGraph`: plain SGD stepped inside the training graph (as `caffe-tool train` runs it), else beside it. */
async function train(ref: Reference, inGraph = false): Promise<{ loss: number; sum: number; sumsq: number }[]> {
  const net = buildNet(parseCaffeText(ref.net, { kinds: ['net'], dialect: 'bvlc' }).message, { dialect: 'bvlc', phase: 'TRAIN' });
  const values = new Map(Object.entries(ref.weights).map(([k, v]) => [k, Float32Array.from(v)]));
  const param = parseCaffeText(ref.solver, { kinds: ['solver'], dialect: 'bvlc' }).message;
  // Every blob of these small nets in the graph (by default biases and other small blobs stay beside it).
  const sgd = inGraph ? sgdInGraph(param, 'bvlc', 0) : undefined;
  if (inGraph) assert.ok(sgd, 'the solver allows the in-graph SGD');
  const engine = await TrainingEngine.create(net, { values, sgd });
  try {
    const solver = new Solver(param, engine.params, engine.values);
    const batch = Object.fromEntries(Object.entries(ref.batch).map(([k, v]) => [k, Float32Array.from(v)]));
    const rows = [];
    for (let i = 0; i < ref.iterations.length; i++) {
      const rate = solver.learningRate();
      const { loss, grads, updated } = await engine.step(batch, inGraph ? solver.sgdInputs(rate, engine.graph.sgd.keys()) : undefined);
      assert.equal(updated.size, inGraph ? engine.params.filter((p) => p.lrMult !== 0).length : 0);
      solver.apply(grads, rate, updated);
      let [sum, sumsq] = [0, 0];
      for (const p of engine.params) for (const v of engine.values.get(p)!) [sum, sumsq] = [sum + v, sumsq + v * v];
      rows.push({ loss, sum, sumsq });
    }
    return rows;
  } finally {
    await engine.release();
  }
}

/** Relative error; the weight sum (which may pass near 0) is measured against the weights' root sum of squares. */
function worst(ours: { loss: number; sum: number; sumsq: number }[], ref: Reference): { what: string; err: number } {
  let w = { what: '', err: 0 };
  ref.iterations.forEach((r, i) => {
    const errs: [string, number][] = [
      ['loss', Math.abs(ours[i].loss - r.loss) / Math.abs(r.loss)],
      ['sum', Math.abs(ours[i].sum - r.sum) / Math.max(Math.abs(r.sum), Math.sqrt(r.sumsq))],
      ['sumsq', Math.abs(ours[i].sumsq - r.sumsq) / r.sumsq],
    ];
    for (const [what, err] of errs) if (!(err <= w.err)) w = { what: `${what} at iteration ${i + 1}: ours ${ours[i][what as 'loss']}, torch ${r[what as 'loss']}`, err };
  });
  return w;
}

describe('20 iterations against PyTorch with Caffe update rules', () => {
  for (const net of ['mlp', 'conv']) {
    // Issue 8's four, then AdaGrad, AdaDelta and SGD with clip_gradients, L1 decay and multistep; SGD again with its
    // update inside the training graph.
    for (const solver of ['sgd', 'nesterov', 'adam', 'rmsprop', 'adagrad', 'adadelta', 'sgdclip', 'sgd in the graph']) {
      it(`${net} / ${solver}`, async () => {
        const ref = JSON.parse(readFileSync(fixture('train', `parity_${net}_${solver.split(' ')[0]}.json`), 'utf8')) as Reference;
        const ours = await train(ref, solver.endsWith('in the graph'));
        const w = worst(ours, ref);
        assert.ok(w.err <= TOLERANCE, `relative error ${w.err.toExponential(2)}: ${w.what}`);
        // The run learns: the last loss is well below the first (so agreement is not two runs standing still).
        assert.ok(ours[ours.length - 1].loss < 0.7 * ours[0].loss);
      });
    }
  }
});
