// absorb-bn: fold batch normalization (BVLC BatchNorm with or without a following Scale, NVCaffe's BatchNorm
// with its own scale and bias, the SegNet/ENet BN in INFERENCE mode, the PSPNet-style 4-blob BN) into the
// Convolution, Deconvolution or InnerProduct that produces its input. The graph is walked by blob versions:
// a BN folds only when the tensor it reads is made by that layer and read by the BN alone. A BN that cannot
// fold but uses stored statistics becomes one Scale layer (where the fork's Caffe has Scale: SegNet's has not, and
// its INFERENCE BN stays); one that normalizes with batch statistics stays.
// Arithmetic is float64, blobs are stored float32. The input net and messages are never modified.
import { CaffeToolError } from '../errors.js';
import { blobData } from '../io/blob.js';
import { dialectHasLayerType } from '../io/dialect.js';
import type { Message } from '../io/message.js';
import { canonicalAxis } from '../layers/shape.js';
import type { Net, NetBlob, NetLayer } from '../net/net.js';

export interface AbsorbOptions {
  /** Leave BNs that cannot be folded as they are instead of turning them into a Scale layer. */
  keepUnfoldable?: boolean;
}

export interface AbsorbEntry {
  /** The BN layer. */
  layer: string;
  type: string;
  /** folded into a layer, turned into one Scale layer, or left as it was. */
  action: 'folded' | 'scale' | 'kept';
  /** The Scale layer absorbed with the BN, if any. */
  scale?: string;
  /** The layer it was folded into. */
  into?: string;
  intoType?: string;
  /** A bias blob was added to that layer (it had bias_term: false). */
  addedBias?: boolean;
  /** Why it was not folded. */
  reason?: string;
}

export interface AbsorbResult {
  /** The new NetParameter without blobs: what the .prototxt holds. */
  definition: Message;
  /** The new NetParameter with every layer's blobs: what the .caffemodel holds. */
  weights: Message;
  entries: AbsorbEntry[];
}

/** A per-channel affine map y = a * x + c, in float64. */
interface Affine {
  a: Float64Array;
  c: Float64Array;
}

/** Why a BN cannot become an affine map (batch statistics, missing blobs), or the map. */
type BnAffine = { ok: true; affine: Affine } | { ok: false; reason: string };

/** Layers a BN folds into; ConvolutionDepthwise (MobileNet ports) keeps Convolution's row layout [C, 1, kh, kw]. */
const PRODUCERS = new Set(['Convolution', 'ConvolutionDepthwise', 'Deconvolution', 'InnerProduct']);
const BN_TYPES = new Set(['BatchNorm', 'BN']);

/**
 * Fold every batch normalization of `net` (built from `param`, with weights attached) that can be folded.
 * `param` is the NetParameter the net was built from; layers of other phases are kept as they are.
 */
export function absorbBatchNorm(net: Net, param: Message, opts: AbsorbOptions = {}): AbsorbResult {
  const entries: AbsorbEntry[] = [];
  /** The producer of a blob version once a chain ending in it has been folded into that producer. */
  const foldedOutput = new Map<NetBlob, NetLayer>();
  /** Accumulated per-output-channel affine of each producer that absorbed a BN, and its new top name. */
  const producers = new Map<NetLayer, { affine: Affine; top: string; addedBias: boolean }>();
  const removed = new Set<Message>();
  const replaced = new Map<Message, { layer: Message; blobs: Message[] }>();
  const sharedNames = paramNameUsers(param);

  for (const bn of net.layers) {
    if (!BN_TYPES.has(bn.type)) continue;
    const entry: AbsorbEntry = { layer: bn.name, type: bn.type, action: 'kept' };
    entries.push(entry);
    const got = bnAffine(net, bn);
    if (!got.ok) {
      entry.reason = got.reason;
      continue;
    }
    let affine = got.affine;
    const c = affine.a.length;
    // A Scale reading the BN's output, and nothing else reading it, goes with the BN.
    let last = bn;
    const scale = followingScale(net, bn, c);
    if (scale) {
      affine = compose(affine, scaleAffine(scale, c));
      entry.scale = scale.name;
      last = scale;
    }
    const input = bn.bottoms[0];
    const finalTop = last.tops[0];
    const producer = foldedOutput.get(input) ?? (input.producer >= 0 ? net.layers[input.producer] : undefined);
    const why = producer ? cannotFoldInto(net, producer, input, bn, c, sharedNames) : `its input '${input.name}' is a net input`;
    if (!why) {
      const p = producer!;
      const state = producers.get(p) ?? { affine: { a: new Float64Array(c).fill(1), c: new Float64Array(c) }, top: p.tops[0].name, addedBias: false };
      state.affine = compose(state.affine, affine);
      state.top = finalTop.name;
      producers.set(p, state);
      foldedOutput.set(finalTop, p);
      removed.add(bn.layer);
      if (scale) removed.add(scale.layer);
      Object.assign(entry, { action: 'folded', into: p.name, intoType: p.type });
      continue;
    }
    entry.reason = why;
    if (opts.keepUnfoldable) continue;
    if (!dialectHasLayerType(net.dialect, 'Scale')) {
      entry.reason += `; the ${net.dialect} fork's Caffe has no Scale layer to take its place${bn.type === 'BN' ? ' (its INFERENCE BN already is a per-channel scale and shift)' : ''}`;
      continue;
    }
    if (bn.type === 'BN' && isSegnetLike(net) && (input.shape?.length ?? 0) !== 4) {
      entry.reason += `; left as is: SegNet's BN reshapes its ${input.shape?.length}-D input to 4-D, which a Scale layer would not`;
      continue;
    }
    // One Scale layer, bias included, in the BN's place: the BN's name, bottom and phase rules, the last top.
    const layer: Message = { name: bn.layer.name, type: 'Scale', bottom: [input.name], top: [finalTop.name], scale_param: { bias_term: true } };
    for (const k of ['include', 'exclude', 'phase']) if (bn.layer[k] !== undefined) layer[k] = bn.layer[k];
    replaced.set(bn.layer, { layer, blobs: [floatBlob(affine.a, [c]), floatBlob(affine.c, [c])] });
    if (scale) removed.add(scale.layer);
    entry.action = 'scale';
  }

  // The new layer list: folded BN/Scale layers gone, producers with new blobs (and their top renamed to the
  // chain's last top, so later layers find the name they read), unfoldable BNs replaced by a Scale.
  const byMessage = new Map<Message, NetLayer>(net.layers.map((l) => [l.layer, l]));
  const defLayers: Message[] = [];
  const weightLayers: Message[] = [];
  for (const original of (param.layer as Message[] | undefined) ?? []) {
    if (removed.has(original)) continue;
    const rep = replaced.get(original);
    if (rep) {
      defLayers.push(rep.layer);
      weightLayers.push({ ...rep.layer, blobs: rep.blobs });
      continue;
    }
    const l = byMessage.get(original);
    const state = l && producers.get(l);
    const { blobs: _drop, ...plain } = original;
    if (l && state) {
      const { layer, blobs } = foldedProducer(net, l, state.affine, state.top);
      state.addedBias = blobs.length > (l.weights?.length ?? 0);
      defLayers.push(layer);
      weightLayers.push({ ...layer, blobs });
      continue;
    }
    defLayers.push(plain);
    const blobs = l?.weights ?? (original.blobs as Message[] | undefined);
    weightLayers.push(blobs?.length ? { ...plain, blobs } : plain);
  }
  for (const e of entries) {
    const p = e.action === 'folded' ? net.layer(e.into!) : undefined;
    if (p && producers.get(p)?.addedBias) e.addedBias = true;
  }
  const { layer: _layers, ...rest } = param;
  return { definition: { ...rest, layer: defLayers }, weights: { ...rest, layer: weightLayers }, entries };
}

/** One line per BN for people: what happened to it and why. */
export function describeEntry(e: AbsorbEntry): string {
  const with_ = e.scale ? ` + ${e.scale} (Scale)` : '';
  if (e.action === 'folded') {
    return `folded ${e.layer} (${e.type})${with_} into ${e.into} (${e.intoType})${e.addedBias ? ', which got a bias' : ''}`;
  }
  if (e.action === 'scale') return `turned ${e.layer} (${e.type})${with_} into one Scale layer: ${e.reason}`;
  return `left ${e.layer} (${e.type}) as it is: ${e.reason}`;
}

function isSegnetLike(net: Net): boolean {
  return net.dialect === 'segnet' || net.dialect === 'enet';
}

/** The BN's normalization as y = a x + c per channel, from its own blobs and eps, or why it has none. */
function bnAffine(net: Net, bn: NetLayer): BnAffine {
  if (bn.tops.length !== 1) return { ok: false, reason: `it has ${bn.tops.length} tops (the batch mean and variance): it computes batch statistics` };
  const shape = bn.bottoms[0].shape;
  if (!shape || shape.length < 2) return { ok: false, reason: `its input shape is ${shape ? `${shape.length}-D` : 'unknown'}` };
  const c = shape[1];
  if (bn.type === 'BatchNorm' && net.dialect !== 'nvcaffe') {
    const p = net.params(bn, 'batch_norm_param');
    if (p.has('use_global_stats') && !p.bool('use_global_stats')) {
      return { ok: false, reason: 'use_global_stats: false, so it normalizes with each batch\'s own statistics' };
    }
  }
  if (bn.type === 'BN' && isSegnetLike(net)) {
    const mode = net.params(bn, 'bn_param').str('bn_mode');
    if (mode !== 'INFERENCE') return { ok: false, reason: `bn_mode ${mode}: it normalizes with each batch's own statistics` };
  }
  const w = bn.weights;
  if (!w) return { ok: false, reason: 'the weights file has no blobs for it' };
  const data = w.map(blobData);
  const bad = data.findIndex((d, i) => !(bn.type === 'BatchNorm' && i === 2) && d.length !== c);
  if (bad >= 0) return { ok: false, reason: `its blob ${bad} holds ${data[bad].length} values for ${c} channels` };
  const fromStats = (mean: ArrayLike<number>, variance: ArrayLike<number>, f: number, eps: number, gamma?: ArrayLike<number>, beta?: ArrayLike<number>): Affine => {
    const a = new Float64Array(c);
    const off = new Float64Array(c);
    for (let i = 0; i < c; i++) {
      const g = gamma ? gamma[i] : 1;
      a[i] = g / Math.sqrt(f * variance[i] + eps);
      off[i] = (beta ? beta[i] : 0) - a[i] * f * mean[i];
    }
    return { a, c: off };
  };
  if (bn.type === 'BatchNorm') {
    const p = net.params(bn, 'batch_norm_param');
    const eps32 = Math.fround(p.num('eps'));
    if (net.dialect === 'nvcaffe') {
      // NVCaffe: statistics stored as they are (blob 2 unused), eps raised to 1e-5, stored statistics at TEST.
      const eps = Math.max(eps32, Math.fround(1e-5));
      return { ok: true, affine: fromStats(data[0], data[1], 1, eps, data[3], data[4]) };
    }
    const s = data[2][0];
    return { ok: true, affine: fromStats(data[0], data[1], s === 0 ? 0 : 1 / s, eps32) };
  }
  if (isSegnetLike(net)) {
    return { ok: true, affine: { a: Float64Array.from(data[0]), c: Float64Array.from(data[1]) } };
  }
  // PSPNet layout [slope, bias, mean, variance], bn_param.eps, stored statistics at TEST.
  const eps = Math.fround(net.params(bn, 'bn_param').num('eps'));
  return { ok: true, affine: fromStats(data[2], data[3], 1, eps, data[0], data[1]) };
}

/** The Scale layer that alone reads the BN's output, with one learned [C] scale on axis 1 and weights. */
function followingScale(net: Net, bn: NetLayer, c: number): NetLayer | undefined {
  const out = bn.tops[0];
  if (out.consumers.length !== 1) return undefined;
  const s = net.layers[out.consumers[0]];
  if (s.type !== 'Scale' || s.bottoms.length !== 1 || s.tops.length !== 1 || !s.weights || !s.learned) return undefined;
  const shape = out.shape ?? [];
  const p = net.params(s, 'scale_param');
  let axis: number;
  try {
    axis = canonicalAxis(p.num('axis'), shape.length);
  } catch {
    return undefined;
  }
  if (axis !== 1 || s.learned[0]?.shape.reduce((x, y) => x * y, 1) !== c || s.learned[0].shape.length !== 1) return undefined;
  return s;
}

function scaleAffine(s: NetLayer, c: number): Affine {
  const gamma = blobData(s.weights![0]);
  const beta = s.weights!.length > 1 ? blobData(s.weights![1]) : undefined;
  return { a: Float64Array.from(gamma), c: beta ? Float64Array.from(beta) : new Float64Array(c) };
}

/** `second` after `first`. */
function compose(first: Affine, second: Affine): Affine {
  const n = first.a.length;
  const a = new Float64Array(n);
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = second.a[i] * first.a[i];
    c[i] = second.a[i] * first.c[i] + second.c[i];
  }
  return { a, c };
}

/** Layer names using each ParamSpec name (shared weights). */
function paramNameUsers(param: Message): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const l of (param.layer as Message[] | undefined) ?? []) {
    for (const spec of (l.param as Message[] | undefined) ?? []) {
      const n = spec.name as string | undefined;
      if (n) users.set(n, [...(users.get(n) ?? []), String(l.name)]);
    }
  }
  return users;
}

/** Why `bn` (reading version `input`) cannot fold into `p`, or undefined when it can. */
function cannotFoldInto(net: Net, p: NetLayer, input: NetBlob, bn: NetLayer, c: number, shared: Map<string, string[]>): string | undefined {
  if (!PRODUCERS.has(p.type)) return `its input '${input.name}' comes from ${p.type} layer '${p.name}', not from a Convolution, ConvolutionDepthwise, Deconvolution or InnerProduct`;
  const readers = input.consumers.filter((i) => i !== bn.index).map((i) => `'${net.layers[i].name}'`);
  if (readers.length) return `its input '${input.name}' is also read by ${readers.join(', ')}`;
  if (p.bottoms.length !== 1 || p.tops.length !== 1) return `${p.type} layer '${p.name}' has ${p.bottoms.length} bottoms and ${p.tops.length} tops (the same weights for several inputs)`;
  if (!p.weights || !p.learned) return `the weights file has no blobs for ${p.type} layer '${p.name}'`;
  for (const spec of (p.layer.param as Message[] | undefined) ?? []) {
    const others = (shared.get(spec.name as string) ?? []).filter((n) => n !== p.name);
    if (spec.name && others.length) return `${p.type} layer '${p.name}' shares its blobs with ${others.map((o) => `'${o}'`).join(', ')} (param name '${spec.name}')`;
  }
  const out = p.tops[0].shape;
  if (p.type === 'InnerProduct') {
    const axis = canonicalAxis(net.params(p, 'inner_product_param').num('axis'), p.bottoms[0].shape!.length);
    if (axis !== 1) return `InnerProduct layer '${p.name}' has axis ${axis}: its outputs are not the channels on axis 1`;
  } else {
    const axis = canonicalAxis(net.params(p, 'convolution_param').num('axis'), p.bottoms[0].shape!.length);
    if (axis !== 1) return `${p.type} layer '${p.name}' has axis ${axis}: its outputs are not the channels on axis 1`;
  }
  if (!out || out[1] !== c) return `${p.type} layer '${p.name}' makes ${out?.[1]} channels, the BN normalizes ${c}`;
  if (bn.type === 'BN' && isSegnetLike(net) && out.length !== 4) return `SegNet's BN reshapes its ${out.length}-D input to 4-D`;
  return undefined;
}

function floatBlob(values: Float64Array, shape: number[]): Message {
  return { shape: { dim: shape }, data: Float32Array.from(values) };
}

/** The producer with the affine folded into its weights and bias, and its top renamed. */
function foldedProducer(net: Net, p: NetLayer, f: Affine, top: string): { layer: Message; blobs: Message[] } {
  const w = blobData(p.weights![0]);
  const wShape = p.learned![0].shape;
  const n = f.a.length;
  const out = new Float32Array(w.length);
  if (p.type === 'Convolution' || p.type === 'ConvolutionDepthwise') {
    scaleRows(w, out, f.a);
  } else if (p.type === 'Deconvolution') {
    // [C_in, C_out/g, k...]: input channel i of group grp feeds outputs grp*(C_out/g) + j.
    const [cin, perGroupOut] = wShape;
    const group = net.params(p, 'convolution_param').num('group');
    const inPerGroup = cin / group;
    const k = w.length / (cin * perGroupOut);
    for (let i = 0; i < cin; i++) {
      const grp = Math.floor(i / inPerGroup);
      for (let j = 0; j < perGroupOut; j++) {
        const alpha = f.a[grp * perGroupOut + j];
        const base = (i * perGroupOut + j) * k;
        const end = base + k;
        for (let t = base; t < end; t++) out[t] = alpha * w[t];
      }
    }
  } else if (net.params(p, 'inner_product_param').bool('transpose')) {
    // [K, n]: scale each column.
    const a = f.a;
    for (let t = 0, col = 0; t < w.length; t++, col = col + 1 === n ? 0 : col + 1) out[t] = a[col] * w[t];
  } else {
    scaleRows(w, out, f.a);
  }
  const oldBias = p.weights!.length > 1 ? blobData(p.weights![1]) : undefined;
  const bias = new Float64Array(n);
  for (let o = 0; o < n; o++) bias[o] = f.a[o] * (oldBias ? oldBias[o] : 0) + f.c[o];
  const paramField = p.type === 'InnerProduct' ? 'inner_product_param' : 'convolution_param';
  const { blobs: _drop, ...plain } = p.layer;
  const layer: Message = { ...plain, top: [top] };
  if (!oldBias) layer[paramField] = { ...((p.layer[paramField] as Message | undefined) ?? {}), bias_term: true };
  if (!allFinite(out) || !allFinite(bias)) {
    throw new CaffeToolError(`folding into ${p.type} layer '${p.name}' gives infinite or NaN weights`, {
      where: { layer: p.name },
      hint: 'a BN variance + eps of 0 (or NaN statistics) cannot be folded: check the BN blobs with caffe-tool info --weights',
    });
  }
  return { layer, blobs: [{ shape: { dim: wShape }, data: out }, floatBlob(bias, [n])] };
}

/** out[row, ...] = a[row] * w[row, ...] for a [rows, ...] array. */
function scaleRows(w: Float32Array, out: Float32Array, a: Float64Array): void {
  const per = w.length / a.length;
  for (let o = 0; o < a.length; o++) {
    const alpha = a[o];
    const end = (o + 1) * per;
    for (let k = o * per; k < end; k++) out[k] = alpha * w[k];
  }
}

function allFinite(values: Float32Array | Float64Array): boolean {
  let sum = 0;
  // Any NaN or infinity makes the product NaN; finite values keep 0 * v = 0.
  for (let i = 0; i < values.length; i++) sum += 0 * values[i];
  return sum === 0;
}
