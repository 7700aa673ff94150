// A train/val net to a deploy net, as people write them by hand for Caffe: the TEST phase's layers, data
// layers turned into Input layers with their output shapes, losses and metrics gone (SoftmaxWithLoss kept as
// the Softmax it computes), labels gone with the layers that read them, include/exclude rules dropped.
import { CaffeToolError, usageError } from '../errors.js';
import { dialectHasLayerType } from '../io/dialect.js';
import type { Message } from '../io/message.js';
import type { Dialect } from '../io/schema.js';
import { formatShape } from '../layers/shape.js';
import type { Shape } from '../layers/types.js';
import { buildNet, type Net, type NetBlob, type NetLayer } from '../net/net.js';

export interface DeployOptions {
  dialect?: Dialect;
  file?: string;
  /** Shapes for data-layer tops whose shape the net cannot tell (an LMDB Data layer's images), or to replace it. */
  inputs?: Record<string, Shape>;
  /** Keep the layers' learned blobs (when the source is a .caffemodel and the output is binary). Default false. */
  keepBlobs?: boolean;
}

export interface DeployResult {
  /** The deploy NetParameter. */
  param: Message;
  /** The built deploy net (TEST phase), its shapes checked. */
  net: Net;
  /** What was done, one line each, for the user. */
  notes: string[];
}

/** Data-layer types whose second top is the label, by Caffe's definition of the layer. */
const LABELLED_SOURCES = new Set([
  'Data', 'ImageData', 'WindowData', 'MemoryData', 'DenseImageData', 'ImageSegData', 'VideoData', 'AnnotatedData',
]);

export function makeDeploy(param: Message, opts: DeployOptions = {}): DeployResult {
  // Built without the new input shapes: they only have to fit the deploy net (a new batch size need not fit
  // the labels that go away).
  const net = buildNet(param, { phase: 'TEST', dialect: opts.dialect, file: opts.file });
  const notes: string[] = [];
  const inputs = new Map(Object.entries(opts.inputs ?? {}));
  checkInputNames(net, inputs);
  const excluded = ((param.layer as Message[] | undefined) ?? []).length - net.layers.length;
  if (excluded) notes.push(`left out ${excluded} layer${excluded === 1 ? '' : 's'} that the TEST phase excludes`);

  // What the deploy net computes: backwards from its outputs. An output is a top that no remaining layer reads,
  // unless a loss or metric read it as its target (after its first bottom): such a blob is a label, and the
  // layers that only served to make it go with it. Data-layer tops no kept layer reads go too.
  const effective = (l: NetLayer) => (l.type === 'SoftmaxWithLoss' ? l.bottoms.slice(0, 1) : l.def.trainingOnly ? [] : l.bottoms);
  const computes = (l: NetLayer) => !l.def.source && (!l.def.trainingOnly || l.type === 'SoftmaxWithLoss');
  const labels = new Set<NetBlob>();
  for (const l of net.layers) if (l.def.trainingOnly) l.bottoms.slice(1).forEach((b) => labels.add(b));
  for (const l of net.layers) if (LABELLED_SOURCES.has(l.type)) l.tops.slice(1).forEach((t) => labels.add(t));
  const live = new Set<NetBlob>();
  const liveLayers = new Set<number>();
  const stack: NetLayer[] = [];
  for (const l of net.layers) {
    if (!computes(l)) continue;
    const root = l.type === 'SoftmaxWithLoss'
      || l.tops.some((t) => !labels.has(t) && !t.consumers.some((c) => effective(net.layers[c]).includes(t)));
    if (root) stack.push(l);
  }
  while (stack.length) {
    const l = stack.pop()!;
    if (liveLayers.has(l.index)) continue;
    liveLayers.add(l.index);
    for (const b of effective(l)) {
      live.add(b);
      if (b.producer >= 0) stack.push(net.layers[b.producer]);
    }
  }

  const softmaxLosses = net.layers.filter((l) => l.type === 'SoftmaxWithLoss');
  const taken = new Set<string>([...net.blobVersions.map((b) => b.name), ...net.layers.map((l) => l.name)]);
  const out: Message[] = [];
  const removed: string[] = [];
  const dropped = new Set<string>();
  for (const l of net.layers) {
    if (l.def.source) {
      for (const t of l.tops) if (!live.has(t)) dropped.add(t.name);
      out.push(...sourceLayer(l, dropped, inputs, notes));
    } else if (!liveLayers.has(l.index)) {
      removed.push(`${l.name} (${l.type}${l.def.trainingOnly ? '' : ', only serves losses or labels'})`);
    } else if (l.type === 'SoftmaxWithLoss') {
      out.push(softmaxFor(l, softmaxLosses.length, taken, notes));
    } else {
      out.push(cleanLayer(l.layer, opts.keepBlobs));
    }
  }
  if (removed.length) notes.push(`removed ${removed.join(', ')}`);
  if (dropped.size) notes.push(`dropped data top${dropped.size === 1 ? '' : 's'} ${[...dropped].join(', ')}`);

  const result: Message = { ...param, layer: out };
  delete result.state;
  setLegacyInputShapes(result, net, inputs, notes);
  if (!dialectHasLayerType(net.dialect, 'Input')) asNetInputs(result, net.dialect, notes);
  const deploy = buildNet(result, { phase: 'TEST', dialect: opts.dialect, file: opts.file });
  return { param: result, net: deploy, notes };
}

/** A copy of a layer without phase rules (and without learned blobs unless kept). */
function cleanLayer(layer: Message, keepBlobs?: boolean): Message {
  const copy: Message = { ...layer };
  delete copy.include;
  delete copy.exclude;
  if (!keepBlobs) delete copy.blobs;
  return copy;
}

/** A data layer as an Input layer giving the shapes of the tops that stay; nothing when only labels remain. */
function sourceLayer(l: NetLayer, dropped: Set<string>, inputs: Map<string, Shape>, notes: string[]): Message[] {
  const tops = l.tops.filter((t) => !dropped.has(t.name)).map((t) => ({ name: t.name, shape: inputs.get(t.name) ?? t.shape }));
  if (!tops.length) return [];
  if (l.type === 'Input' && !tops.some((t) => inputs.has(t.name))) return [cleanLayer(l.layer)];
  for (const t of tops) {
    if (!t.shape) {
      throw new CaffeToolError(`the shape of top '${t.name}' of ${l.type} layer '${l.name}' is unknown: ${l.unknown ?? 'it depends on the data'}`, {
        where: { layer: l.name },
        hint: `give it with --input ${t.name}=${suggestShape(l)} (for example --input ${t.name}=${suggestShape(l, true)})`,
      });
    }
  }
  const input: Message = {
    name: l.layer.name,
    type: 'Input',
    top: tops.map((t) => t.name),
    input_param: { shape: tops.map((t) => ({ dim: [...t.shape!] })) },
  };
  // Kept so that `caffe-tool run` preprocesses images as the net was tested; mirroring only matters in training.
  const transform = l.layer.transform_param as Message | undefined;
  if (transform) {
    const t: Message = { ...transform };
    delete t.mirror;
    if (Object.keys(t).length) input.transform_param = t;
  }
  notes.push(`${l.type} layer '${l.name}' became an Input layer: ${tops.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ')}`);
  return [input];
}

/**
 * For a fork whose Caffe has no Input layer (SegNet's): the Input layers made of data layers become the net's
 * own `input` fields, with input_dim for 4-D shapes (as SegNet's segnet_inference.prototxt writes them), else
 * input_shape.
 */
function asNetInputs(result: Message, dialect: Dialect, notes: string[]): void {
  const layers = result.layer as Message[];
  const made = layers.filter((l) => l.type === 'Input');
  if (!made.length) return;
  const names = [...((result.input as string[] | undefined) ?? [])];
  const shapes = made.flatMap((l) => ((l.input_param as Message).shape as Message[]).map((s) => (s.dim as number[]).map(Number)));
  for (const l of made) names.push(...(l.top as string[]));
  const legacyDims = ((result.input_dim as number[] | undefined) ?? []).map(Number);
  const legacyShapes = ((result.input_shape as Message[] | undefined) ?? []).map((s) => (s.dim as number[]).map(Number));
  const before = legacyShapes.length ? legacyShapes : Array.from({ length: legacyDims.length / 4 }, (_, i) => legacyDims.slice(4 * i, 4 * i + 4));
  const all = [...before, ...shapes];
  result.layer = layers.filter((l) => l.type !== 'Input');
  result.input = names;
  delete result.input_dim;
  delete result.input_shape;
  if (all.every((d) => d.length === 4)) result.input_dim = all.flat();
  else result.input_shape = all.map((dim) => ({ dim }));
  notes.push(`${dialect}'s Caffe has no Input layer: ${made.map((l) => l.name).join(', ')} became the net's input field${names.length === 1 ? '' : 's'} (${names.join(', ')})`);
}

/** Every --input must name a data-layer top or a legacy net input that the deploy net keeps. */
function checkInputNames(net: Net, inputs: Map<string, Shape>): void {
  const known = net.blobVersions.filter((b) => b.producer === -1 || net.layers[b.producer].def.source).map((b) => b.name);
  for (const name of inputs.keys()) {
    if (!known.includes(name)) {
      throw usageError(`--input ${name}: the net has no data-layer top or input of that name in the TEST phase`, `inputs here: ${known.join(', ') || 'none'}`);
    }
  }
}

/** --input for the legacy `input:` fields: written as input_shape (one per input). */
function setLegacyInputShapes(result: Message, net: Net, inputs: Map<string, Shape>, notes: string[]): void {
  const legacy = net.inputs();
  if (!legacy.some((b) => inputs.has(b.name))) return;
  result.input_shape = legacy.map((b) => {
    const shape = inputs.get(b.name) ?? b.shape;
    if (!shape) throw new CaffeToolError(`the shape of net input '${b.name}' is unknown`, { hint: `give it with --input ${b.name}=N,C,H,W` });
    return { dim: [...shape] };
  });
  delete result.input_dim;
  notes.push(`net input${legacy.length === 1 ? '' : 's'} ${legacy.map((b) => `${b.name} ${formatShape(inputs.get(b.name) ?? b.shape)}`).join(', ')}`);
}

/** N,C,H,W with what the data layer tells (batch size, crop size) filled in. */
function suggestShape(l: NetLayer, example = false): string {
  const param = Object.values(l.layer).find((v): v is Message => typeof v === 'object' && v !== null && 'batch_size' in (v as Message));
  const batch = param ? String(param.batch_size) : 'N';
  const crop = (l.layer.transform_param as Message | undefined)?.crop_size;
  const hw = crop ? `${crop},${crop}` : example ? '224,224' : 'H,W';
  return `${batch},${example ? '3' : 'C'},${hw}`;
}

/** SoftmaxWithLoss -> the Softmax it computes on its first bottom, under a new top ('prob' for the only one). */
function softmaxFor(l: NetLayer, count: number, taken: Set<string>, notes: string[]): Message {
  const bottom = l.bottoms[0].name;
  let top = count === 1 ? 'prob' : `${bottom}_prob`;
  for (let i = 2; taken.has(top); i++) top = `${count === 1 ? 'prob' : `${bottom}_prob`}_${i}`;
  taken.add(top);
  const softmax: Message = { name: top, type: 'Softmax', bottom: [bottom], top: [top] };
  if (l.layer.softmax_param) softmax.softmax_param = l.layer.softmax_param;
  notes.push(`SoftmaxWithLoss '${l.name}' became Softmax '${top}' on '${bottom}': the class probabilities are top '${top}'`);
  return softmax;
}
