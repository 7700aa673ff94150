// The training engine: a TRAIN-phase net's graph (graph.ts) in one ONNX Runtime session, the parameters it owns,
// and one step = Net::ForwardBackward: feed a batch and the parameters, get the loss, the outputs and the
// gradients; the statistics a forward updates (BatchNorm) are copied back into their blobs. The solver (solver.ts)
// turns the gradients into updates beside the graph, or, with opts.sgd, the graph steps the blobs itself and the
// solver commits the results.
import ort from 'onnxruntime-node';
import { CaffeToolError } from '../errors.js';
import { blobData } from '../io/blob.js';
import { count, formatShape } from '../layers/shape.js';
import type { Net, NetBlob } from '../net/net.js';
import { Rng } from '../surgery/fillers.js';
import { encodeModel } from '../convert/onnx/model.js';
import { nchwcBlockSize } from '../runtime/nchwc.js';
import { layerOfNode, layerTimes, type LayerTimes, readProfile } from '../runtime/layer-times.js';
import { createSession, type Device } from '../runtime/session.js';
import { buildTrainingGraph, type GraphOptions, type TrainingGraph } from './graph.js';
import type { OwnedParam } from './params.js';
import type { SgdInputs, SgdResult } from './solver.js';

export interface EngineOptions extends GraphOptions {
  device?: Device;
  /** Seeds the random inputs (Dropout masks). */
  seed?: number;
  /** Starting values by param key (`layer/i`); otherwise the weights attached to the net. */
  values?: Map<string, Float32Array>;
  /** Use the given value arrays themselves, not copies: a test net sharing the train net's blobs. */
  shareValues?: boolean;
  /** A folder for ONNX Runtime's profile of every step (withProfileFolder; read back with layerTimes). */
  profile?: string;
}

export interface StepResult {
  /** The total loss (sum of loss_weight x loss tops); NaN when the graph has no loss. */
  loss: number;
  /** The net's outputs by blob name. */
  outputs: Map<string, Float32Array>;
  /** Gradients of the learnable blobs (lr_mult not 0). */
  grads: Map<OwnedParam, Float32Array>;
  /** 'external' backward: gradients of the data tops by blob name. */
  dataGrads: Map<string, Float32Array>;
  /** exposeAll / expose: the exposed blob versions. */
  exposed: Map<NetBlob, Float32Array>;
  /** In-graph SGD: each stepped blob's new value and history (fresh arrays, for Solver.apply to commit). */
  updated: Map<OwnedParam, SgdResult>;
  /** The statistics the forward updated (BatchNorm's), already in `values` unless the step deferred them. */
  statistics: Map<OwnedParam, Float32Array>;
}

export class TrainingEngine {
  private constructor(
    readonly net: Net,
    readonly graph: TrainingGraph,
    private readonly session: ort.InferenceSession,
    /** The current value of every owned blob, updated in place by the solver and by statistics updates. */
    readonly values: Map<OwnedParam, Float32Array>,
    private rng: Rng,
  ) {}

  /** Restart the random inputs' sequence (the gradient checker needs the same Dropout mask twice). */
  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  static async create(net: Net, opts: EngineOptions = {}): Promise<TrainingEngine> {
    // opts.cpu false on the CPU builds the graph the CUDA provider gets, and runs it here (tests check it so).
    const cpu = opts.cpu ?? (opts.device?.kind ?? 'cpu') === 'cpu';
    const nchwcBlock = cpu ? await nchwcBlockSize() : undefined;
    const graph = buildTrainingGraph(net, { ...opts, nchwcBlock, cpu });
    const values = new Map<OwnedParam, Float32Array>();
    for (const p of graph.params.owned) values.set(p, startingValue(p, opts.values, opts.shareValues ?? false));
    const model = encodeModel(graph.g, { name: net.name, producerVersion: 'caffe-tool', doc: `training graph of '${net.name}'` });
    const session = await createSession(model, opts.device, undefined, opts.profile);
    return new TrainingEngine(net, graph, session, values, new Rng(opts.seed ?? 1));
  }

  /** The learnable blobs in Caffe's order (owners only). */
  get params(): OwnedParam[] {
    return this.graph.params.owned;
  }

  /** Whether the graph steps the learnable blobs itself (opts.sgd): step() then needs an SgdStep. */
  get sgdInGraph(): boolean {
    return this.graph.sgd.size > 0;
  }

  /**
   * One forward and backward pass on a batch: every data top by blob name (and, for 'external', gradIn). With the
   * in-graph SGD, `sgd` gives the step's rates and histories; the results come back in `updated`, not yet applied.
   * The statistics the forward updates go into `values` at once, or, with `deferStatistics`, when the caller
   * passes them to commitStatistics (after checking the loss).
   */
  async step(batch: Record<string, Float32Array>, sgd?: SgdInputs, opts: { deferStatistics?: boolean } = {}): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [blob, t] of this.graph.data) feeds[t.name] = tensor(batch[blob], t.shape, `data top '${blob}'`);
    for (const [blob, t] of this.graph.gradIn) feeds[t.name] = tensor(batch[`grad_in:${blob}`], t.shape, `the gradient of '${blob}'`);
    for (const [p, name] of this.graph.paramInputs) feeds[name] = new ort.Tensor('float32', this.values.get(p)!, p.shape);
    for (const r of this.graph.randoms) {
      const data = new Float32Array(count(r.shape));
      for (let i = 0; i < data.length; i++) data[i] = this.rng.uniform();
      feeds[r.name] = new ort.Tensor('float32', data, r.shape);
    }
    for (const [p, v] of this.graph.sgd) {
      const rate = sgd?.rates.get(p);
      const history = sgd?.history.get(p);
      if (rate === undefined || !history) throw new CaffeToolError(`the in-graph SGD step has no rate or history for ${p.key}`);
      feeds[v.rate] = new ort.Tensor('float32', Float32Array.of(rate), []);
      feeds[v.history] = new ort.Tensor('float32', history, p.shape);
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run(feeds);
    } catch (e) {
      throw runFailure(this.net, e);
    }
    const read = (name: string) => results[name].data as Float32Array;
    const updated = new Map<OwnedParam, SgdResult>();
    for (const [p, v] of this.graph.sgd) updated.set(p, { value: read(v.value), history: read(v.historyNext) });
    const statistics = new Map<OwnedParam, Float32Array>();
    for (const [p, name] of this.graph.updates) statistics.set(p, read(name));
    if (!opts.deferStatistics) this.commitStatistics(statistics);
    const outputs = new Map<string, Float32Array>();
    for (const [blob, t] of this.graph.outputs) outputs.set(blob, read(t.name));
    const grads = new Map<OwnedParam, Float32Array>();
    for (const [p, name] of this.graph.grads) grads.set(p, read(name));
    const dataGrads = new Map<string, Float32Array>();
    for (const [blob, name] of this.graph.dataGrads) dataGrads.set(blob, read(name));
    const exposed = new Map<NetBlob, Float32Array>();
    for (const [b, name] of this.graph.exposed) exposed.set(b, read(name));
    return { loss: this.graph.loss ? read(this.graph.loss)[0] : NaN, outputs, grads, dataGrads, exposed, updated, statistics };
  }

  /** Copy a step's deferred statistics into `values`. */
  commitStatistics(statistics: Map<OwnedParam, Float32Array>): void {
    for (const [p, v] of statistics) this.values.get(p)!.set(v);
  }

  /** With opts.profile: the average kernel time per step of each layer's forward and backward over the last `steps` steps. */
  layerTimes(profile: string, steps: number): LayerTimes {
    const parts = { forward: this.graph.forwardNodes, all: this.graph.g.nodes.map((n) => n.name) };
    return layerTimes(readProfile(this.session, profile), this.net.layers.map((l) => l.name), steps, parts);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * ONNX Runtime's failure inside a node, said in the net's terms: the graph names every node after its layer
 * (`conv1_dx`), so the longest layer name the node's name starts with is the layer. A label past the classes is
 * the usual cause in a loss or accuracy layer (an index out of range).
 */
export function runFailure(net: Net, e: unknown): Error {
  const message = (e as Error)?.message ?? String(e);
  const m = /running (\w+) node\. Name:'([^']*)' Status Message: ([\s\S]*)$/.exec(message);
  if (!m) return e instanceof Error ? e : new Error(message);
  const [, op, node] = m;
  // The status starts with the runtime's source location and function signature: keep what follows them.
  const reason = m[3].replace(/^\S+\.(?:cc|h):\d+ [^(]*\([^)]*\)(?: const)?(?: \[with [^\]]*\])? /, '').trim();
  const name = layerOfNode(net.layers.map((l) => l.name), node);
  const layer = net.layers.find((l) => l.name === name);
  const label = /range|index/i.test(reason) && layer && (layer.def.loss || layer.def.trainingOnly);
  return new CaffeToolError(`ONNX Runtime stopped at ${layer ? `the ${layer.type} layer's` : 'the'} ${op} node '${node}': ${reason}`, {
    where: layer ? { layer: layer.name } : {},
    hint: label ? 'a label that is not a class (0 to the number of classes - 1) and not the ignore_label reaches this layer: check the label data (Caffe does not check it either, and reads past the scores)' : undefined,
    cause: e,
  });
}

function tensor(data: Float32Array | undefined, shape: number[], what: string): ort.Tensor {
  if (!data) throw new CaffeToolError(`the batch has no ${what}`);
  if (data.length !== count(shape)) throw new CaffeToolError(`${what} has ${data.length} values, ${formatShape(shape)} needs ${count(shape)}`);
  return new ort.Tensor('float32', data, shape);
}

/** A private copy of the param's starting value: given, or the weights attached to its layer. */
function startingValue(p: OwnedParam, given: Map<string, Float32Array> | undefined, share: boolean): Float32Array {
  const v = given?.get(p.key);
  if (v) {
    if (v.length !== count(p.shape)) {
      throw new CaffeToolError(`layer '${p.layer.name}' blob ${p.index} (${p.role}) is ${formatShape(p.shape)} but the value given has ${v.length} numbers`, { where: { layer: p.layer.name } });
    }
    return share ? v : Float32Array.from(v);
  }
  const blob = p.layer.weights?.[p.index];
  if (!blob) throw new CaffeToolError(`layer '${p.layer.name}' has no value for its ${p.role} blob: give weights or fillers`, { where: { layer: p.layer.name } });
  return Float32Array.from(blobData(blob));
}
