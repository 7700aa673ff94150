// Small edits of a net definition (and its weights, which Caffe matches by layer name): rename a layer, remove
// a layer and wire its readers to its input, set an input's shape, change a layer's num_output (its blobs and
// those of the layers whose input changes made afresh with their fillers).
import { CaffeToolError, closestNames, usageError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { Dialect } from '../io/schema.js';
import { formatShape } from '../layers/shape.js';
import type { BlobSpec, Shape } from '../layers/types.js';
import { buildNet, type Net } from '../net/net.js';
import { fill, fillerFor, Rng } from './fillers.js';

export interface EditContext {
  dialect?: Dialect;
  file?: string;
  /** A weights NetParameter (a .caffemodel's) edited alongside the net. */
  weights?: Message;
  /** Notes for the user. */
  notes: string[];
  seed?: number;
}

const layersOf = (param: Message): Message[] => (param.layer as Message[] | undefined) ?? [];

function build(param: Message, ctx: EditContext): Net {
  return buildNet(param, { phase: 'TEST', dialect: ctx.dialect, file: ctx.file });
}

function findLayers(param: Message, name: string, what: string): Message[] {
  const found = layersOf(param).filter((l) => l.name === name);
  if (!found.length) {
    const names = [...new Set(layersOf(param).map((l) => l.name as string))];
    const close = closestNames(name, names);
    throw usageError(`${what}: the net has no layer '${name}'`, close.length ? `did you mean ${close.join(' or ')}?` : `layers: ${names.join(', ')}`);
  }
  return found;
}

/** Rename a layer (every phase's copy of it), and its blobs in the weights. Its tops keep their names. */
export function renameLayer(param: Message, from: string, to: string, ctx: EditContext): void {
  const found = findLayers(param, from, '--rename');
  if (layersOf(param).some((l) => l.name === to)) throw usageError(`--rename ${from}=${to}: a layer named '${to}' exists already`);
  for (const l of found) l.name = to;
  let inWeights = false;
  for (const l of ctx.weights ? layersOf(ctx.weights) : []) {
    if (l.name === from) [l.name, inWeights] = [to, true];
  }
  ctx.notes.push(`renamed layer '${from}' to '${to}'${inWeights ? ' (and its weights)' : ''}`);
}

/** Learned blob shapes of every layer, by name. */
function learnedShapes(net: Net): Map<string, BlobSpec[] | undefined> {
  return new Map(net.layers.map((l) => [l.name, l.learned]));
}

const sameShape = (a: Shape | undefined, b: Shape | undefined) => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
const specsText = (s: BlobSpec[] | undefined) => (s ?? []).map((b) => formatShape(b.shape)).join(', ');

/** Layers whose learned blob shapes differ between two builds of a net. */
function changedLearned(before: Net, after: Net): { name: string; was: string; now: string }[] {
  const old = learnedShapes(before);
  const out: { name: string; was: string; now: string }[] = [];
  for (const l of after.layers) {
    const was = old.get(l.name);
    const now = l.learned;
    if (!was || !now) continue;
    if (was.length !== now.length || was.some((b, i) => !sameShape(b.shape, now[i].shape))) out.push({ name: l.name, was: specsText(was), now: specsText(now) });
  }
  return out;
}

/**
 * Remove a layer with one bottom and one top; the layers that read its top (up to the next layer that makes a
 * new blob of that name) read its bottom instead. Refused when the net would no longer build, or when the
 * learned blobs of a layer after it would change shape (its trained weights would no longer fit).
 */
export function removeLayer(param: Message, name: string, ctx: EditContext): void {
  const found = findLayers(param, name, '--remove');
  if (found.length > 1) throw usageError(`--remove ${name}: ${found.length} layers have that name (one per phase?)`, 'rename one of them first with --rename');
  const layer = found[0];
  const bottoms = (layer.bottom as string[] | undefined) ?? [];
  const tops = (layer.top as string[] | undefined) ?? [];
  if (bottoms.length !== 1 || tops.length !== 1) {
    throw new CaffeToolError(`cannot remove '${name}': it has ${bottoms.length} bottom${bottoms.length === 1 ? '' : 's'} and ${tops.length} top${tops.length === 1 ? '' : 's'}; only a layer with one of each can be bypassed`, { where: { layer: name } });
  }
  const [bottom, top] = [bottoms[0], tops[0]];
  const before = build(param, ctx);
  const all = layersOf(param);
  const at = all.indexOf(layer);
  const rest = all.slice(at + 1).map((l) => ({ ...l }));
  if (top !== bottom) {
    // Rename the top in the readers after it, in-place layers included, until something makes a new `top`.
    for (const l of rest) {
      const b = (l.bottom as string[] | undefined) ?? [];
      const t = (l.top as string[] | undefined) ?? [];
      const reads = b.includes(top);
      if (reads) l.bottom = b.map((x) => (x === top ? bottom : x));
      if (t.includes(top)) {
        const inPlace = b[t.indexOf(top)] === top;
        if (!inPlace) break;
        l.top = t.map((x) => (x === top ? bottom : x));
      }
    }
  }
  const candidate: Message = { ...param, layer: [...all.slice(0, at), ...rest] };
  let after: Net;
  try {
    after = build(candidate, ctx);
  } catch (e) {
    if (!(e instanceof CaffeToolError)) throw e;
    throw new CaffeToolError(`cannot remove '${name}': without it the net does not build: ${e.format()}`, { where: { layer: name } });
  }
  const changed = changedLearned(before, after);
  if (changed.length) {
    const was = before.layer(name);
    throw new CaffeToolError(
      `cannot remove '${name}': its output (${formatShape(was?.tops[0]?.shape)}) is not its input (${formatShape(was?.bottoms[0]?.shape)}), so the weights after it would not fit: ${changed.map((c) => `${c.name} ${c.was} -> ${c.now}`).join('; ')}`,
      { where: { layer: name } },
    );
  }
  const removedBlobs = (before.layer(name)?.learned ?? []).length;
  param.layer = candidate.layer;
  let inWeights = false;
  if (ctx.weights) {
    const w = layersOf(ctx.weights);
    inWeights = w.some((l) => l.name === name);
    ctx.weights.layer = w.filter((l) => l.name !== name);
  }
  ctx.notes.push(
    `removed layer '${name}'${top !== bottom ? `: its readers now read '${bottom}'` : ''}${removedBlobs && inWeights ? ' (and its weights)' : ''}`,
  );
}

/** Set the shape of a net input: an Input layer's top, or a legacy `input`. Warns when trained weights stop fitting. */
export function setInputShape(param: Message, name: string, shape: Shape, ctx: EditContext): void {
  const before = build(param, ctx);
  const legacy = (param.input as string[] | undefined) ?? [];
  const li = legacy.indexOf(name);
  const inputLayers = layersOf(param).filter((l) => l.type === 'Input' && ((l.top as string[] | undefined) ?? []).includes(name));
  if (li >= 0) {
    const current = before.inputs().map((b) => b.shape);
    param.input_shape = legacy.map((_, i) => ({ dim: [...(i === li ? shape : (current[i] ?? []))] }));
    delete param.input_dim;
  } else if (inputLayers.length) {
    for (const l of inputLayers) {
      const tops = l.top as string[];
      const ip: Message = { ...((l.input_param as Message | undefined) ?? {}) };
      const shapes = ((ip.shape as Message[] | undefined) ?? []).map((s) => ({ ...s }));
      const expanded = shapes.length === 1 && tops.length > 1 ? tops.map(() => ({ ...shapes[0] })) : shapes;
      expanded[tops.indexOf(name)] = { dim: [...shape] };
      ip.shape = expanded;
      l.input_param = ip;
    }
  } else {
    const known = [...legacy, ...layersOf(param).filter((l) => l.type === 'Input').flatMap((l) => (l.top as string[] | undefined) ?? [])];
    throw usageError(`--input-shape ${name}: the net has no Input layer top or input of that name`, `inputs: ${known.join(', ') || 'none (data layers take --input in deploy)'}`);
  }
  let after: Net;
  try {
    after = build(param, ctx);
  } catch (e) {
    if (!(e instanceof CaffeToolError)) throw e;
    throw new CaffeToolError(`with ${name} ${formatShape(shape)} the net does not build: ${e.format()}`);
  }
  ctx.notes.push(`input '${name}' is now ${formatShape(shape)}`);
  for (const c of changedLearned(before, after)) {
    ctx.notes.push(`warning: layer '${c.name}' now expects blobs ${c.now} (was ${c.was}): trained weights no longer fit it (fc-to-conv keeps them usable on other sizes)`);
  }
}

const NUM_OUTPUT_PARAM: Record<string, string> = {
  Convolution: 'convolution_param',
  Deconvolution: 'convolution_param',
  ConvolutionDepthwise: 'convolution_param',
  InnerProduct: 'inner_product_param',
};

/**
 * Change a layer's num_output. With weights, that layer's blobs and those of every layer whose learned shapes
 * change with it are made afresh from their fillers; the names of those layers are returned.
 */
export function setNumOutput(param: Message, name: string, n: number, ctx: EditContext): string[] {
  if (!Number.isInteger(n) || n <= 0) throw usageError(`--num-output ${name}=${n}: num_output must be a positive integer`);
  const found = findLayers(param, name, '--num-output');
  const field = NUM_OUTPUT_PARAM[found[0].type as string];
  if (!field) throw usageError(`--num-output ${name}: '${name}' is a ${found[0].type}; only Convolution, Deconvolution and InnerProduct have num_output here`);
  const before = build(param, ctx);
  for (const l of found) l[field] = { ...((l[field] as Message | undefined) ?? {}), num_output: n };
  let after: Net;
  try {
    after = build(param, ctx);
  } catch (e) {
    if (!(e instanceof CaffeToolError)) throw e;
    throw new CaffeToolError(`with num_output ${n} for '${name}' the net does not build: ${e.format()}`);
  }
  const changed = changedLearned(before, after).map((c) => c.name);
  ctx.notes.push(`layer '${name}' now has num_output ${n}`);
  if (!ctx.weights) {
    if (changed.length) ctx.notes.push(`the learned blobs of ${changed.join(', ')} change shape: give --weights and --out-weights to make them afresh`);
    return changed;
  }
  const rng = new Rng(ctx.seed ?? 1);
  const wLayers = layersOf(ctx.weights);
  for (const lname of changed) {
    const l = after.layer(lname)!;
    const blobs = (l.learned ?? []).map((spec, i) => ({ shape: { dim: [...spec.shape] }, data: fill(spec.shape, fillerFor(l.layer, l.type, spec, i), rng) }));
    const entry = wLayers.find((w) => w.name === lname);
    if (entry) entry.blobs = blobs;
    else wLayers.push({ name: lname, type: l.type, blobs });
  }
  ctx.weights.layer = wLayers;
  if (changed.length) ctx.notes.push(`re-initialised from their fillers: ${changed.join(', ')}`);
  return changed;
}
