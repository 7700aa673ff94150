// The training loop of Caffe's Solver::Solve and Solver::Step: test at test_interval (test_initialization),
// iter_size forward-backward passes, the smoothed loss over average_loss, the display lines, ApplyUpdate,
// snapshots every `snapshot` iterations and after training, and the signal actions (SIGINT stops after a
// snapshot, SIGHUP snapshots and goes on). Data comes from the nets' own data layers (src/train/data).
import { rmSync, writeFileSync } from 'node:fs';
import { CaffeToolError } from '../errors.js';
import type { Net } from '../net/net.js';
import { buildNet } from '../net/net.js';
import type { Device } from '../runtime/session.js';
import { openDataLayer, type Batch, type BatchSource } from './data/index.js';
import { TrainingEngine, type StepResult } from './engine.js';
import { initialValues, readWeights } from './init.js';
import { MatWriter } from './mat-write.js';
import { g6, outputLine, type TrainLog } from './log.js';
import { netParams, type OwnedParam } from './params.js';
import { Monitor, watchedBlobs } from './monitor.js';
import { checkHistory, learnedNetPath, readSolverState, writeSnapshot } from './snapshot.js';
import { readHdf5SolverState, writeHdf5Snapshot } from './snapshot-hdf5.js';
import type { NetSource, SolverFile } from './solver-file.js';
import { TestScores } from './test-scores.js';
import { Solver, sgdInGraph, type SgdInputs } from './solver.js';

export type SignalEffect = 'stop' | 'snapshot' | 'none';

export interface TrainOptions {
  /** `-weights a.caffemodel[,b.caffemodel]`: copied by layer name after the fillers. */
  weights?: string[];
  /** `-snapshot S.solverstate`: resume. */
  snapshot?: string;
  device?: Device;
  log: TrainLog;
  sigintEffect?: SignalEffect;
  sighupEffect?: SignalEffect;
  /** Stop after this iteration instead of max_iter (tests, `--iterations`). */
  stopAt?: number;
  /** --monitor: training health every `display` iterations. */
  monitor?: boolean;
}

export interface TrainResult {
  iter: number;
  snapshots: string[];
  stoppedEarly: boolean;
  /** The last smoothed training loss. */
  loss: number;
  /** The last test outputs of each test net. */
  tests: Record<string, number | number[]>[];
}

/** A net with its data layers opened; shapes the net could not know are taken from the first batch. */
export class DataNet {
  private pending: Batch | undefined;

  private constructor(readonly net: Net, private readonly sources: BatchSource[], first: Batch | undefined) {
    this.pending = first;
  }

  /** `skip`: batches to pass over first (a resumed run), without decoding them. */
  static async open(source: NetSource, baseDir: string, seed: number, skip = 0): Promise<DataNet> {
    const opts = { phase: source.phase, level: source.level, stages: source.stages, dialect: source.dialect, file: source.origin };
    let net = buildNet(source.param, opts);
    const layers = net.layers.filter((l) => l.def.source);
    const sources = layers.map((l) => openDataLayer(l, net, { phase: source.phase, seed, baseDir, skip }));
    let first: Batch | undefined;
    if (layers.some((l) => l.tops.some((t) => !t.shape))) {
      first = await merge(sources);
      const inputs: Record<string, number[]> = {};
      for (const l of layers) for (const t of l.tops) if (!t.shape) inputs[t.name] = first[t.name].dims;
      net = buildNet(source.param, { ...opts, inputs });
    }
    return new DataNet(net, sources, first);
  }

  async next(): Promise<Record<string, Float32Array>> {
    const batch = this.pending ?? (await merge(this.sources));
    this.pending = undefined;
    const out: Record<string, Float32Array> = {};
    for (const [top, t] of Object.entries(batch)) out[top] = t.data;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}

async function merge(sources: BatchSource[]): Promise<Batch> {
  return Object.assign({}, ...(await Promise.all(sources.map((s) => s.next()))));
}

/**
 * Solver::CheckSnapshotWritePermissions: write and remove PREFIX_iter_N.tempfile before training, so a run that
 * cannot save stops now rather than at its first snapshot. Caffe checks where `snapshot` is set; this also checks
 * where only snapshot_after_train will write.
 */
function checkSnapshotWritable(solver: SolverFile, iter: number): void {
  const p = solver.params;
  if (!p.num('snapshot') && !p.bool('snapshot_after_train')) return;
  const probe = `${solver.snapshotPrefix}_iter_${iter}.tempfile`;
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new CaffeToolError(`Cannot write to snapshot prefix '${solver.snapshotPrefix}'.  Make sure that the directory exists and is writeable.`, {
      where: { file: solver.path }, hint: `${(e as Error).message}; set snapshot_prefix to a folder you can write`, cause: e,
    });
  }
}

/** The random inputs of pass `pass` of iteration `iter`: the same whether the run was resumed or not. */
const stepSeed = (seed: number, iter: number, pass: number) => (Math.imul(seed, 0x9e3779b1) ^ Math.imul(iter + 1, 0x85ebca6b) ^ pass) >>> 0;

export async function train(solver: SolverFile, opts: TrainOptions): Promise<TrainResult> {
  const p = solver.params;
  const log = opts.log;
  const given = p.num('random_seed');
  const seed = given >= 0 ? given : (Date.now() & 0x7fffffff);
  if (given < 0) log.info('solver.cpp:48', `random_seed is not set: using ${seed} (set random_seed to repeat this run)`);

  // Solver::Init's CHECK (its message says non-negative; the check is >= 1).
  if (p.num('average_loss') < 1) throw new CaffeToolError('average_loss should be non-negative.', { where: { file: solver.path }, hint: `average_loss is ${p.num('average_loss')}: give 1 or more (the number of losses the displayed loss averages)` });
  const testIter = (solver.message.test_iter as number[] | undefined) ?? [];
  const testInterval = p.num('test_interval');
  const testInit = p.bool('test_initialization');
  const testsDue = (iter: number) => testInterval > 0 && iter % testInterval === 0 && (iter > 0 || testInit);
  const resumed = opts.snapshot ? (opts.snapshot.endsWith('.h5') ? await readHdf5SolverState(opts.snapshot) : readSolverState(opts.snapshot)) : undefined;
  // Solver::Init checks this before it builds the nets.
  checkSnapshotWritable(solver, resumed?.iter ?? 0);
  // A resumed run reads on from where the uninterrupted run would be: iter x iter_size train batches, every test so far.
  let testsSoFar = 0;
  for (let i = 0; i < (resumed?.iter ?? 0); i++) if (testsDue(i)) testsSoFar++;
  const trainData = await DataNet.open(solver.train, solver.baseDir, seed, (resumed?.iter ?? 0) * Math.max(1, p.num('iter_size')));
  const testData: DataNet[] = [];
  const engines: TrainingEngine[] = [];
  try {
    for (const [i, t] of solver.tests.entries()) testData.push(await DataNet.open(t, solver.baseDir, seed + 1 + i, testsSoFar * testIter[i]));
    const net = trainData.net;
    log.info('solver.cpp:45', `Initializing solver from parameters: ${solver.path}`);
    log.info('net.cpp:58', `Initializing net from parameters: ${solver.train.origin} (phase TRAIN, ${net.layers.length} layers)`);

    // The snapshot's model or -weights copied by layer name (Caffe's CopyLayers), the fillers for the rest.
    const sources = await Promise.all((opts.weights ?? []).map((f) => readWeights(f)));
    if (opts.snapshot && resumed) {
      if (!resumed.learnedNet) throw new CaffeToolError('the solver state names no model (learned_net)', { where: { file: opts.snapshot } });
      const model = learnedNetPath(opts.snapshot, resumed.learnedNet);
      log.info('solver.cpp:452', `Resuming from ${opts.snapshot} (iteration ${resumed.iter}, model ${model})`);
      (await readWeights(model))(net);
    }
    const fromFile = new Set<string>();
    sources.forEach((attach, i) => {
      const file = opts.weights![i];
      const report = attach(net);
      report.copied.forEach((n) => fromFile.add(n));
      log.info('net.cpp:744', `Copied the weights of ${report.copied.length} layers from ${file}${report.copied.length ? `: ${report.copied.join(', ')}` : ''}`);
      if (report.ignored.length) log.info('net.cpp:750', `Ignoring source layers not in the net: ${report.ignored.join(', ')}`);
    });
    if (sources.length) {
      const filled = net.layers.filter((l) => l.learned?.length && !fromFile.has(l.name)).map((l) => l.name);
      log.info('net.cpp:760', filled.length ? `Initialised from fillers: ${filled.join(', ')}` : 'Every learned layer was initialised from the weights');
    }
    const values = initialValues(net, netParams(net).owned, seed);

    const watched = opts.monitor ? watchedBlobs(net) : [];
    // Plain SGD runs inside the graph; --monitor reads the gradients, so it keeps the update beside it.
    const sgd = opts.monitor ? undefined : sgdInGraph(solver.message, solver.dialect);
    const engine = await TrainingEngine.create(net, { device: opts.device, values, seed, expose: watched.map((w) => w.blob), sgd });
    engines.push(engine);
    const state = new Solver(solver.message, engine.params, engine.values, solver.dialect);
    if (resumed) {
      checkHistory(opts.snapshot!, resumed.history, state.historyShapes);
      resumed.history.forEach((h, i) => state.history[i].set(h));
      state.iter = resumed.iter;
      state.currentStep = resumed.currentStep;
    }

    // Test nets share the train net's blobs by layer name (ShareTrainedLayersWith); their own layers get fillers.
    const shared = new Map<string, Float32Array>();
    for (const [q, v] of engine.values) shared.set(q.key, v);
    const testEngines: TrainingEngine[] = [];
    // A test net's MatWrite layers (DeepLab) write each test pass's blobs, counting on from one test to the next.
    const testWriters = testData.map((t) => MatWriter.forNet(t.net, solver.baseDir));
    for (const [k, t] of testData.entries()) {
      for (const attach of sources) attach(t.net);
      const own = initialValues(t.net, netParams(t.net).owned, seed);
      const expose = testWriters[k].flatMap((w) => w.bottoms);
      const e = await TrainingEngine.create(t.net, {
        device: opts.device, backward: 'none', values: new Map([...own, ...shared]), shareValues: true, ...(expose.length ? { expose } : {}),
      });
      engines.push(e);
      testEngines.push(e);
    }

    const monitor = opts.monitor ? new Monitor(watched) : undefined;
    const run = new Run(solver, opts, engine, state, trainData, testData, testEngines, testWriters, testIter, seed, monitor);
    return await run.solve(testsDue);
  } finally {
    await trainData.close();
    for (const t of testData) await t.close();
    for (const e of engines) await e.release();
  }
}

class Run {
  private readonly log: TrainLog;
  private readonly losses: number[] = [];
  private smoothed = 0;
  private readonly snapshots: string[] = [];
  private requested: 'stop' | 'snapshot' | undefined;
  /** A stop was requested during a test (Caffe's requested_early_exit_). */
  private stopped = false;
  private lastTests: Record<string, number | number[]>[] = [];

  constructor(
    private readonly solver: SolverFile, private readonly opts: TrainOptions, private readonly engine: TrainingEngine,
    private readonly state: Solver, private readonly trainData: DataNet, private readonly testData: DataNet[],
    private readonly testEngines: TrainingEngine[], private readonly testWriters: MatWriter[][], private readonly testIter: number[], private readonly seed: number,
    private readonly monitor: Monitor | undefined,
  ) {
    this.log = opts.log;
  }

  async solve(testsDue: (iter: number) => boolean): Promise<TrainResult> {
    const p = this.solver.params;
    const maxIter = this.opts.stopAt ?? p.num('max_iter');
    const display = p.num('display');
    const snapshotEvery = p.num('snapshot');
    const iterSize = Math.max(1, p.num('iter_size'));
    const averageLoss = p.num('average_loss');
    const start = this.state.iter;
    const off = this.signals();
    this.log.info('solver.cpp:326', `Solving ${this.engine.net.name || '(unnamed net)'}`);
    this.log.info('solver.cpp:327', `Learning Rate Policy: ${p.str('lr_policy')}`);
    if (p.bool('snapshot_diff')) this.log.warn('solver', 'snapshot_diff is not written: the snapshots hold the weights, not the last update (Caffe would add the diffs)');
    let timer = Date.now();
    let lastIter = start;
    try {
      while (this.state.iter < maxIter) {
        const iter = this.state.iter;
        if (testsDue(iter)) await this.testAll();
        // Stopped during the test: Step breaks out before training this iteration.
        if (this.stopped) return await this.stopEarly(snapshotEvery);
        const displayNow = display > 0 && iter % display === 0;
        let loss = 0;
        const sums = new Map<OwnedParam, Float32Array>();
        let outputs = new Map<string, Float32Array>();
        let updated: StepResult['updated'] | undefined;
        const stepBefore = this.state.currentStep;
        const rate = this.state.learningRate();
        for (let pass = 0; pass < iterSize; pass++) {
          this.engine.reseed(stepSeed(this.seed, iter, pass));
          const batch = await this.trainData.next();
          const r = await this.engine.step(batch, this.sgdInputs(rate), { deferStatistics: true });
          if (!Number.isFinite(r.loss)) {
            // The snapshot keeps the state before this iteration: the lr policy's step too.
            this.state.currentStep = stepBefore;
            await this.diverged(iter, r.loss, batch);
          }
          this.engine.commitStatistics(r.statistics);
          loss = Math.fround(loss + r.loss);
          outputs = r.outputs;
          updated = r.updated;
          this.monitor?.observe(r.exposed, r.grads);
          for (const [q, g] of r.grads) {
            const acc = sums.get(q);
            // Each step's gradients are fresh arrays: the first pass's can be summed into.
            if (!acc) sums.set(q, g);
            else for (let i = 0; i < g.length; i++) acc[i] += g[i];
          }
        }
        loss = Math.fround(loss / iterSize);
        this.smooth(loss, iter - start, averageLoss);
        if (displayNow) {
          const lapse = (Date.now() - timer) / 1000;
          const perSecond = (iter - lastIter) / (lapse || 1);
          this.log.info('solver.cpp:218', `Iteration ${iter} (${g6(perSecond)} iter/s, ${g6(lapse)}s/${display} iters), loss = ${g6(this.smoothed)}`);
          this.printOutputs('Train', 'solver.cpp:237', outputs);
          timer = Date.now();
          lastIter = iter;
        }
        // Caffe computes the rate in ApplyUpdate: its multistep line comes here, after the display lines.
        if (this.state.stepMoved) this.log.info('sgd_solver.cpp:46', `MultiStep Status: Iteration ${iter}, step = ${this.state.currentStep}`);
        this.state.apply(sums, rate, updated);
        if (displayNow) this.log.info('sgd_solver.cpp:105', `Iteration ${iter}, lr = ${g6(rate)}`);
        const clip = this.state.clipped;
        if (clip) this.log.info('sgd_solver.cpp:92', `Gradient clipping: scaling down gradients (L2 norm ${g6(clip.norm)} > ${g6(clip.clip)}) by scale factor ${g6(clip.scale)}`);
        if (displayNow) {
          if (this.monitor) this.printHealth(iter);
          this.log.event({ phase: 'train', iter, seconds: this.log.seconds(), loss: this.smoothed, lr: rate, outputs: values(outputs) });
        }
        this.log.progress(this.state.iter, maxIter, this.smoothed, (this.state.iter - lastIter) / Math.max(1e-3, (Date.now() - timer) / 1000));
        const request = this.takeRequest();
        if ((snapshotEvery && this.state.iter % snapshotEvery === 0) || request === 'snapshot') await this.snapshot();
        if (request === 'stop') return await this.stopEarly(snapshotEvery);
      }
      await this.snapshotAfterTrain(snapshotEvery);
      if (display > 0 && this.state.iter % display === 0) {
        // Caffe's last display: one more forward pass for the loss after the last update.
        this.engine.reseed(stepSeed(this.seed, this.state.iter, 0));
        const r = await this.engine.step(await this.trainData.next(), this.sgdInputs(0));
        this.smooth(r.loss, this.state.iter - start, averageLoss);
        this.log.info('solver.cpp:310', `Iteration ${this.state.iter}, loss = ${g6(this.smoothed)}`);
      }
      if (testsDue(this.state.iter) || (this.testEngines.length && this.state.iter % p.num('test_interval') === 0)) await this.testAll();
      this.log.info('solver.cpp:315', 'Optimization Done.');
      return this.result(false);
    } finally {
      off();
    }
  }

  /** Solve after a stop request: the snapshot after training, then the early end. */
  private async stopEarly(snapshotEvery: number): Promise<TrainResult> {
    await this.snapshotAfterTrain(snapshotEvery);
    this.log.info('solver.cpp:307', 'Optimization stopped early.');
    return this.result(true);
  }

  /** snapshot_after_train: a snapshot of where the run ends, unless the interval has just written one. */
  private async snapshotAfterTrain(snapshotEvery: number): Promise<void> {
    if (this.solver.params.bool('snapshot_after_train') && (!snapshotEvery || this.state.iter % snapshotEvery !== 0)) await this.snapshot();
  }

  /** The in-graph SGD's inputs for a step at `rate`, when the engine has it. */
  private sgdInputs(rate: number): SgdInputs | undefined {
    return this.engine.sgdInGraph ? this.state.sgdInputs(rate, this.engine.graph.sgd.keys()) : undefined;
  }

  private printHealth(iter: number): void {
    const h = this.monitor!.report(this.engine.values);
    for (const l of h.layers) this.log.info('monitor', `    ${l.layer}: dead units ${(l.dead * 100).toFixed(1)}%, activation rms ${g6(l.rms)}`);
    for (const w of h.weights) this.log.info('monitor', `    ${w.param}: weight norm ${g6(w.norm)}, |grad|/|weight| ${g6(w.gradRatio)}`);
    for (const w of h.warnings) this.log.warn('monitor', `Iteration ${iter}: ${w}`);
    this.log.event({ phase: 'monitor', iter, seconds: this.log.seconds(), layers: h.layers, weights: h.weights, warnings: h.warnings });
  }

  private result(stoppedEarly: boolean): TrainResult {
    return { iter: this.state.iter, snapshots: this.snapshots, stoppedEarly, loss: this.smoothed, tests: this.lastTests };
  }

  /** Solver::UpdateSmoothedLoss, in float as Caffe computes it. */
  private smooth(loss: number, done: number, window: number): void {
    const f = Math.fround;
    loss = f(loss);
    if (this.losses.length < window) {
      this.losses.push(loss);
      const n = this.losses.length;
      this.smoothed = f(f(f(this.smoothed * (n - 1)) + loss) / n);
    } else {
      const i = done % window;
      this.smoothed = f(this.smoothed + f(f(loss - this.losses[i]) / window));
      this.losses[i] = loss;
    }
  }

  /** Solver::Test for every test net: test_iter forward passes, each output averaged. */
  private async testAll(): Promise<void> {
    this.lastTests = [];
    for (const [k, e] of this.testEngines.entries()) {
      this.log.info('solver.cpp:330', `Iteration ${this.state.iter}, Testing net (#${k})`);
      const scores = new TestScores(e);
      for (let i = 0; i < this.testIter[k]; i++) {
        // Solver::Test takes requests between its iterations: a snapshot at once, a stop ends the test and the run.
        const request = this.takeRequest();
        if (request === 'snapshot') await this.snapshot();
        if (request === 'stop') this.stopped = true;
        if (this.stopped) {
          this.log.info('solver.cpp:365', 'Test interrupted.');
          return;
        }
        const batch = await this.testData[k].next();
        const r = await e.step(batch);
        scores.add(r);
        for (const w of this.testWriters[k]) w.writeStep(r.exposed, batch);
      }
      if (this.solver.params.bool('test_compute_loss')) this.log.info('solver.cpp:386', `Test loss: ${g6(scores.meanLoss(this.testIter[k]))}`);
      const means = scores.means(this.testIter[k]);
      this.printOutputs('Test', 'solver.cpp:397', means, e);
      const out = values(means);
      this.lastTests.push(out);
      this.log.event({ phase: 'test', iter: this.state.iter, seconds: this.log.seconds(), net: k, outputs: out });
    }
  }

  /** `    Train net output #0: loss = 0.23 (* 1 = 0.23 loss)`, one line per value, as Caffe prints them. */
  private printOutputs(which: 'Train' | 'Test', source: string, outputs: Map<string, Float32Array>, engine = this.engine): void {
    let index = 0;
    for (const [name, t] of engine.graph.outputs) {
      const v = outputs.get(name);
      if (!v) continue;
      for (const x of v) {
        this.log.info(source, `    ${which} net output #${index++}: ${outputLine(name, x, t.lossWeight)}`);
      }
    }
  }

  private async snapshot(): Promise<void> {
    const hdf5 = this.solver.params.str('snapshot_format') === 'HDF5';
    const args = [this.solver.snapshotPrefix, this.state.iter, this.engine.net, this.engine.values, this.engine.graph.params.byLayer, this.state] as const;
    const written = hdf5 ? await writeHdf5Snapshot(...args) : writeSnapshot(...args);
    const kind = hdf5 ? 'HDF5' : 'binary proto';
    this.log.info(hdf5 ? 'solver.cpp:476' : 'solver.cpp:464', `Snapshotting to ${kind} file ${written.model}`);
    this.log.info(hdf5 ? 'sgd_solver.cpp:298' : 'sgd_solver.cpp:290', `Snapshotting solver state to ${kind} file ${written.state}`);
    this.snapshots.push(written.model, written.state);
  }

  /** A NaN or infinite loss: name the first layer whose output went bad, snapshot the weights before it, stop. */
  private async diverged(iter: number, loss: number, batch: Record<string, Float32Array>): Promise<never> {
    const culprit = await firstBadLayer(this.engine, batch, stepSeed(this.seed, iter, 0));
    await this.snapshot();
    throw new CaffeToolError(`the loss is ${loss} at iteration ${iter}${culprit ? `: layer '${culprit.name}' (${culprit.type}) is the first to output ${culprit.bad}` : ''}`, {
      where: culprit ? { layer: culprit.name } : {},
      hint: `the weights before this iteration are in the snapshot ${this.snapshots.at(-2)}; lower base_lr, or set clip_gradients`,
    });
  }

  private signals(): () => void {
    const handler = (effect: SignalEffect | undefined) => () => {
      if (effect === 'stop' || effect === 'snapshot') this.requested = effect;
    };
    const onInt = handler(this.opts.sigintEffect ?? 'stop');
    const onHup = handler(this.opts.sighupEffect ?? 'snapshot');
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    return () => {
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
    };
  }

  private takeRequest(): 'stop' | 'snapshot' | undefined {
    const r = this.requested;
    this.requested = undefined;
    return r;
  }
}

function values(outputs: Map<string, Float32Array>): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const [k, v] of outputs) out[k] = v.length === 1 ? v[0] : Array.from(v);
  return out;
}

/** Run the forward with every blob as an output and find the first layer whose top holds a NaN or an infinity. */
async function firstBadLayer(engine: TrainingEngine, batch: Record<string, Float32Array>, seed: number): Promise<{ name: string; type: string; bad: string } | undefined> {
  const probe = await TrainingEngine.create(engine.net, { backward: 'none', exposeAll: true, values: new Map([...engine.values].map(([q, v]) => [q.key, v])), shareValues: true });
  try {
    probe.reseed(seed);
    const r = await probe.step(batch);
    for (const l of engine.net.layers) {
      for (const t of l.tops) {
        const v = r.exposed.get(t);
        const bad = v?.find((x) => !Number.isFinite(x));
        if (bad !== undefined) return { name: l.name, type: l.type, bad: String(bad) };
      }
    }
    return undefined;
  } finally {
    await probe.release();
  }
}

