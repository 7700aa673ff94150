// A TRAIN-phase net as one ONNX graph: the forward in training mode (each layer's toOnnx with ctx.train), then the
// backward from the losses to every learned blob (each layer's gradient, in reverse order), as Caffe's
// Net::ForwardBackward computes them. Parameters are graph inputs, so one session serves every step; the graph
// outputs the loss, the net's outputs, each learnable blob's gradient (or, with the in-graph SGD, its new value and
// history) and the statistics layers update.
import { CaffeToolError } from '../errors.js';
import type { GradContext, OnnxContext, Shape, TrainHooks } from '../layers/types.js';
import { count, formatShape } from '../layers/shape.js';
import type { Net, NetBlob, NetLayer } from '../net/net.js';
import { OnnxGraph } from '../convert/onnx/graph.js';
import { layerOnnxContext } from '../convert/to-onnx.js';
import { netParams, type NetParams, type OwnedParam } from './params.js';
import type { SgdInGraph } from './solver.js';

/** Opset 18 has Col2Im, the data gradient of small convolutions (conv-grad.ts). */
export const TRAINING_OPSET = 18;

export interface GraphOptions {
  /**
   * Where the backward starts. 'loss': the tops with a loss_weight (Caffe's training). 'external': the gradient of
   * every net output is a graph input named `grad_in:BLOB` (the gradient checker), and the data tops get gradients too.
   * 'none': forward only (the TEST net, or `time` without --backward).
   */
  backward?: 'loss' | 'external' | 'none';
  /** Also output every blob version the layers compute (finding where a NaN starts). */
  exposeAll?: boolean;
  /** Also output these blob versions: what `test` needs for IoU, what --monitor watches. */
  expose?: NetBlob[];
  /** 'external' backward: the data tops that get a gradient (default: all). */
  inputGrads?: string[];
  opset?: number;
  /** ONNX Runtime's NCHWc block size (runtime/nchwc.ts), for a graph that runs on its CPU provider. */
  nchwcBlock?: number;
  /** The graph runs on ONNX Runtime's CPU provider (the default). */
  cpu?: boolean;
  /** 'loss' backward: step the learnable blobs (of sgd.minValues values or more) by SGD in the graph instead of outputting their gradients. */
  sgd?: SgdInGraph;
}

/** The in-graph SGD's values for one blob: inputs `rate:KEY` (its local rate) and `history:KEY`, the outputs after the step. */
export interface SgdValues {
  rate: string;
  history: string;
  value: string;
  historyNext: string;
}

export interface GraphTensor {
  /** The ONNX value name. */
  name: string;
  shape: Shape;
}

export interface TrainingGraph {
  g: OnnxGraph;
  params: NetParams;
  /** Data-layer and net-input tops: what each step feeds. Keyed by blob name. */
  data: Map<string, GraphTensor>;
  /** Every owned blob's graph input (its key is the input's name). */
  paramInputs: Map<OwnedParam, string>;
  /** Gradient outputs of the blobs that learn (lr_mult not 0), summed over every layer sharing them. */
  grads: Map<OwnedParam, string>;
  /** With opts.sgd: the blobs stepped in the graph (they have no gradient output). */
  sgd: Map<OwnedParam, SgdValues>;
  /** New values of blobs that a layer's forward sets (BatchNorm statistics). */
  updates: Map<OwnedParam, string>;
  /** Inputs to fill with fresh uniform [0, 1) numbers each step. */
  randoms: GraphTensor[];
  /** The net's outputs (blobs no layer reads) by blob name in Caffe's order (by name), with their loss weights (0: not a loss). */
  outputs: Map<string, GraphTensor & { lossWeight: number }>;
  /** The scalar total loss, sum of loss_weight x the sum of each loss top (not with the 'external' backward). */
  loss?: string;
  /** 'external' backward: the gradient inputs of the outputs, and the data tops' gradients. */
  gradIn: Map<string, GraphTensor>;
  dataGrads: Map<string, string>;
  /** exposeAll / expose: the exposed blob versions' value names. */
  exposed: Map<NetBlob, string>;
  /** The names of the forward part's nodes (the rest is the backward and the in-graph SGD). */
  forwardNodes: Set<string>;
}

export function buildTrainingGraph(net: Net, opts: GraphOptions = {}): TrainingGraph {
  const seed = opts.backward ?? 'loss';
  const g = new OnnxGraph(opts.opset ?? TRAINING_OPSET);
  const params = netParams(net);
  const names = blobNames(net, g);
  const isSource = (b: NetBlob) => b.producer === -1 || net.layers[b.producer].def.source === true;

  const data = new Map<string, GraphTensor>();
  for (const b of net.blobVersions) {
    // Every data top is fed: a top nothing reads is a net output (Caffe prints it), passed straight through.
    if (!isSource(b)) continue;
    const shape = knownShape(b);
    g.inputs.push({ name: names.get(b)!, shape });
    data.set(b.name, { name: names.get(b)!, shape });
  }
  const paramInputs = new Map<OwnedParam, string>();
  for (const p of params.owned) {
    g.claim(p.key);
    g.inputs.push({ name: p.key, shape: p.shape });
    paramInputs.set(p, p.key);
  }

  const randoms: GraphTensor[] = [];
  const updates = new Map<OwnedParam, string>();
  const saved = new Map<NetLayer, Map<string, string>>();
  const contexts = new Map<NetLayer, OnnxContext & { train: TrainHooks }>();
  for (const l of net.layers) {
    if (l.def.source) continue;
    if (!l.def.toOnnx) throw layerError(l, `cannot be trained: ${l.def.noOnnx ?? 'its forward is not built yet'}`);
    for (const b of [...l.bottoms, ...l.tops]) knownShape(b, l);
    const mine = new Map<string, string>();
    saved.set(l, mine);
    const owners = params.byLayer.get(l) ?? [];
    const train: TrainHooks = {
      save: (key, value) => void mine.set(key, value),
      update: (i, value) => {
        const out = g.claim(`update:${owners[i].key}`);
        g.node('Identity', [value], { outputs: [out], name: `${l.name}_update` });
        g.outputs.push({ name: out, shape: owners[i].shape });
        updates.set(owners[i], out);
      },
      random: (shape) => {
        const name = g.claim(`random:${l.name}:${randoms.length}`);
        g.inputs.push({ name, shape });
        randoms.push({ name, shape });
        return name;
      },
      nchwcBlock: opts.nchwcBlock,
    };
    const ctx = layerContext(net, l, g, names, owners, paramInputs, train, opts.cpu ?? true);
    contexts.set(l, ctx);
    guard(l, () => l.def.toOnnx!(ctx));
  }

  const outputs = new Map<string, GraphTensor & { lossWeight: number }>();
  const lossTerms: string[] = [];
  const last = new Set(net.blobs().values());
  for (const l of net.layers) {
    l.tops.forEach((t, i) => {
      const w = l.lossWeights[i];
      if (w && seed !== 'external') {
        const sum = g.node('ReduceSum', [names.get(t)!], { attrs: { keepdims: 0 }, name: `${l.name}_loss_sum` });
        lossTerms.push(w === 1 ? sum : g.node('Mul', [sum, g.float32([w], [])], { name: `${l.name}_loss_weight` }));
      }
      if (t.consumers.length === 0 && last.has(t)) {
        const name = names.get(t)!;
        g.outputs.push({ name, shape: t.shape });
        outputs.set(t.name, { name, shape: t.shape!, lossWeight: w });
      }
    });
  }
  const exposed = new Map<NetBlob, string>();
  if (opts.exposeAll || opts.expose?.length) {
    const declared = new Set(g.outputs.map((o) => o.name));
    for (const b of net.blobVersions) {
      if (isSource(b) || (!opts.exposeAll && !opts.expose!.includes(b))) continue;
      const name = names.get(b)!;
      if (!declared.has(name)) g.outputs.push({ name, shape: b.shape });
      exposed.set(b, name);
    }
  }
  let loss: string | undefined;
  if (seed === 'loss' && !lossTerms.length) {
    throw new CaffeToolError('the net has no loss to train: no top has a loss_weight', { hint: 'add a loss layer (SoftmaxWithLoss, EuclideanLoss...) or give a top loss_weight: 1' });
  }
  // Net::Forward's loss, also without a backward (caffe test prints it, Solver::Test sums it).
  if (lossTerms.length) {
    loss = g.unique('total_loss');
    g.node(lossTerms.length === 1 ? 'Identity' : 'Sum', lossTerms, { outputs: [loss], name: 'total_loss' });
    g.outputs.push({ name: loss, shape: [] });
  }

  const grads = new Map<OwnedParam, string>();
  const sgd = new Map<OwnedParam, SgdValues>();
  const gradIn = new Map<string, GraphTensor>();
  const dataGrads = new Map<string, string>();
  const forwardNodes = new Set(g.nodes.map((n) => n.name));
  if (seed !== 'none') {
    const backward = new Backward(net, g, names, params, seed === 'external' ? (opts.inputGrads ?? [...data.keys()]) : []);
    if (seed === 'loss') backward.seedLosses();
    else for (const [blob, out] of outputs) gradIn.set(blob, backward.seedInput(net.blobs().get(blob)!, out.shape));
    for (let i = net.layers.length - 1; i >= 0; i--) {
      const l = net.layers[i];
      if (!l.def.source) backward.layer(l, contexts.get(l)!, saved.get(l)!);
    }
    for (const [p, name] of backward.paramGrads()) {
      if (opts.sgd && seed === 'loss' && count(p.shape) >= opts.sgd.minValues) {
        sgd.set(p, sgdNodes(g, p, name, opts.sgd));
        continue;
      }
      grads.set(p, name);
      g.outputs.push({ name, shape: p.shape });
    }
    if (seed === 'external') {
      for (const [blob, t] of data) {
        if (!(opts.inputGrads ?? [blob]).includes(blob)) continue;
        const grad = backward.blobGrad(net.blobVersions.find((b) => b.name === blob && isSource(b))!);
        if (!grad) continue;
        const out = g.claim(`grad:${blob}`);
        g.node('Identity', [grad], { outputs: [out] });
        g.outputs.push({ name: out, shape: t.shape });
        dataGrads.set(blob, out);
      }
    }
  }
  g.prune();
  // Caffe numbers a net's outputs ("Train net output #k") in name order: net.cpp collects them in a std::set<string>.
  const byName = new Map([...outputs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { g, params, data, paramInputs, grads, sgd, updates, randoms, outputs: byName, loss, gradIn, dataGrads, exposed, forwardNodes };
}

/** Caffe's SGD step of blob p (sgd_solver.cpp: Regularize, ComputeUpdateValue, Net::Update) from its gradient `grad`. */
function sgdNodes(g: OnnxGraph, p: OwnedParam, grad: string, spec: SgdInGraph): SgdValues {
  const v: SgdValues = { rate: g.claim(`rate:${p.key}`), history: g.claim(`history:${p.key}`), value: g.claim(`value_next:${p.key}`), historyNext: g.claim(`history_next:${p.key}`) };
  g.inputs.push({ name: v.rate, shape: [] }, { name: v.history, shape: p.shape });
  const decay = spec.decay(p);
  const diff = decay ? g.node('Add', [grad, g.node('Mul', [p.key, g.float32([decay], [])], { name: `${p.key}_decay` })], { name: `${p.key}_diff` }) : grad;
  const scaled = g.node('Mul', [diff, v.rate], { name: `${p.key}_scaled` });
  g.node('Add', [scaled, g.node('Mul', [v.history, g.float32([spec.momentum], [])], { name: `${p.key}_momentum` })], { outputs: [v.historyNext], name: `${p.key}_history` });
  g.node('Sub', [p.key, v.historyNext], { outputs: [v.value], name: `${p.key}_step` });
  g.outputs.push({ name: v.value, shape: p.shape }, { name: v.historyNext, shape: p.shape });
  return v;
}

/** The backward walk: gradients reaching each blob version, summed where a blob feeds several layers. */
class Backward {
  private readonly reaching = new Map<NetBlob, string[]>();
  private readonly toParam = new Map<OwnedParam, string[]>();
  private readonly needs = new Set<NetBlob>();

  constructor(
    private readonly net: Net, private readonly g: OnnxGraph, private readonly names: Map<NetBlob, string>,
    private readonly params: NetParams, gradInputs: string[],
  ) {
    // Caffe's blob_need_backward: a top needs a gradient when its layer learns or one of its bottoms needs one.
    // Net inputs first (`input:` fields, before any layer reads them).
    for (const b of net.inputs()) if (gradInputs.includes(b.name)) this.needs.add(b);
    for (const l of net.layers) {
      if (l.def.source) {
        l.tops.forEach((t) => gradInputs.includes(t.name) && this.needs.add(t));
        continue;
      }
      const learns = (params.byLayer.get(l) ?? []).some((p) => p.lrMult !== 0);
      const down = propagateDown(l);
      if (learns || l.bottoms.some((b, i) => down[i] && this.needs.has(b))) l.tops.forEach((t) => this.needs.add(t));
    }
  }

  seedLosses(): void {
    for (const l of this.net.layers) {
      l.tops.forEach((t, i) => {
        const w = l.lossWeights[i];
        if (!w) return;
        // The loss is w * sum(top): its gradient is w everywhere (Caffe sets the loss top's diff to loss_weight).
        const dims = this.g.int64(t.shape!);
        this.add(t, this.g.node('Expand', [this.g.float32([w], []), dims], { name: `${l.name}_loss_grad` }));
      });
    }
  }

  seedInput(b: NetBlob, shape: Shape): GraphTensor {
    const name = this.g.claim(`grad_in:${b.name}`);
    this.g.inputs.push({ name, shape });
    this.add(b, name);
    return { name, shape };
  }

  layer(l: NetLayer, fwd: OnnxContext & { train: TrainHooks }, saved: Map<string, string>): void {
    const dy = l.tops.map((t) => this.blobGrad(t));
    if (dy.every((d) => d === undefined)) return;
    const down = propagateDown(l);
    const needDx = l.bottoms.map((b, i) => down[i] && this.needs.has(b));
    const owners = this.params.byLayer.get(l) ?? [];
    const needDw = owners.map((p) => p.lrMult !== 0);
    if (!needDx.some(Boolean) && !needDw.some(Boolean)) return;
    if (!l.def.gradient) throw layerError(l, 'cannot pass a gradient back yet (its backward is not built)');
    const ctx: GradContext = {
      ...fwd, dy, needDx, needDw,
      saved: (key) => {
        const v = saved.get(key);
        if (!v) throw new Error(`layer '${l.name}': the forward saved no '${key}'`);
        return v;
      },
    };
    const result = guard(l, () => l.def.gradient!(ctx));
    needDx.forEach((need, i) => {
      if (!need) return;
      const dx = result.dx?.[i];
      if (!dx) throw layerError(l, `gave no gradient for bottom ${i} ('${l.bottoms[i].name}')`);
      this.add(l.bottoms[i], dx);
    });
    needDw.forEach((need, i) => {
      if (!need) return;
      const dw = result.dw?.[i];
      if (!dw) throw layerError(l, `gave no gradient for learned blob ${i} (${owners[i].role})`);
      const list = this.toParam.get(owners[i]) ?? [];
      list.push(dw);
      this.toParam.set(owners[i], list);
    });
  }

  /** The summed gradient reaching a blob version, or undefined. */
  blobGrad(b: NetBlob): string | undefined {
    const list = this.reaching.get(b);
    if (!list?.length) return undefined;
    if (list.length > 1) this.reaching.set(b, [this.g.node('Sum', list, { name: `${b.name}_grad_sum` })]);
    return this.reaching.get(b)![0];
  }

  paramGrads(): Map<OwnedParam, string> {
    const out = new Map<OwnedParam, string>();
    for (const p of this.params.owned) {
      if (p.lrMult === 0) continue;
      const list = this.toParam.get(p) ?? [];
      const name = this.g.claim(`grad:${p.key}`);
      if (!list.length) {
        // Nothing reaches it (it does not feed the loss): Caffe leaves its diff at zero.
        this.g.node('Expand', [this.g.float32([0], []), this.g.int64(p.shape)], { outputs: [name] });
      } else {
        this.g.node(list.length === 1 ? 'Identity' : 'Sum', list, { outputs: [name], name: `${p.key}_grad` });
      }
      out.set(p, name);
    }
    return out;
  }

  private add(b: NetBlob, grad: string): void {
    const list = this.reaching.get(b) ?? [];
    list.push(grad);
    this.reaching.set(b, list);
  }
}

/** LayerParameter.propagate_down: absent means every bottom (Caffe then decides by need). */
function propagateDown(l: NetLayer): boolean[] {
  const given = (l.layer.propagate_down as boolean[] | undefined) ?? [];
  if (given.length && given.length !== l.bottoms.length) {
    throw layerError(l, `propagate_down has ${given.length} values for ${l.bottoms.length} bottoms: give one per bottom`);
  }
  return l.bottoms.map((_, i) => (given.length ? given[i] : true));
}

/** One ONNX name per blob version: the first keeps the Caffe name, later in-place versions get `__vN`. */
function blobNames(net: Net, g: OnnxGraph): Map<NetBlob, string> {
  const names = new Map<NetBlob, string>();
  for (const b of net.blobVersions) names.set(b, g.claim(b.version === 0 ? b.name : `${b.name}__v${b.version}`));
  return names;
}

function layerContext(
  net: Net, l: NetLayer, g: OnnxGraph, names: Map<NetBlob, string>, owners: OwnedParam[],
  paramInputs: Map<OwnedParam, string>, train: TrainHooks, cpu: boolean,
): OnnxContext & { train: TrainHooks } {
  return layerOnnxContext(net, l, g, names, {
    weights: [], dynamicBatch: false, train, cpu,
    weight: (i: number, dims?: Shape) => {
      const input = paramInputs.get(owners[i])!;
      if (!dims || dims.join(',') === owners[i].shape.join(',')) return input;
      if (count(dims) !== count(owners[i].shape)) throw layerError(l, `blob ${i} ${formatShape(owners[i].shape)} cannot be viewed as ${formatShape(dims)}`);
      return g.node('Reshape', [input, g.int64(dims)], { name: `${l.name}_${owners[i].role}_view` });
    },
  });
}

function knownShape(b: NetBlob, l?: NetLayer): Shape {
  if (b.shape) return b.shape;
  throw new CaffeToolError(`the shape of '${b.name}' is unknown, so the net cannot be trained`, {
    where: l ? { layer: l.name } : undefined, hint: `check the data layer's source; with time --backward give it as --shape ${b.name}=N,C,H,W`,
  });
}

function layerError(l: NetLayer, message: string): CaffeToolError {
  return new CaffeToolError(`${l.type} layer ${message}`, { where: { layer: l.name } });
}

function guard<T>(l: NetLayer, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CaffeToolError && !e.where?.layer) throw new CaffeToolError(`${l.type} layer: ${e.message}`, { where: { layer: l.name }, hint: e.hint });
    throw e;
  }
}

