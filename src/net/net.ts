// A net as Caffe builds it for one state: the layers that state includes, every blob version (in-place
// layers make a new version of their bottom), who produces and reads each, shapes, learned blobs and MACs.
import { CaffeToolError, type Where } from '../errors.js';
import type { Message } from '../io/message.js';
import { type Dialect, dialectSchema, messageInfo } from '../io/schema.js';
import { layerDef } from '../layers/index.js';
import { Params } from '../layers/params.js';
import { formatShape } from '../layers/shape.js';
import type { BlobSpec, LayerContext, LayerDef, Shape } from '../layers/types.js';
import { layerIncluded, type NetState } from './rules.js';

export interface NetBlob {
  name: string;
  /** 0 for the first producer; each in-place layer makes the next version. */
  version: number;
  shape: Shape | undefined;
  /** The producing layer's index, or -1 for a net input. */
  producer: number;
  consumers: number[];
}

export interface NetLayer {
  index: number;
  name: string;
  type: string;
  def: LayerDef;
  /** The LayerParameter message. */
  layer: Message;
  bottoms: NetBlob[];
  tops: NetBlob[];
  /** Learned blobs as the layer defines them; undefined while an input shape is unknown. */
  learned: BlobSpec[] | undefined;
  macs: number | undefined;
  /** Loss weight of each top (0 for tops that are not losses). */
  lossWeights: number[];
  /** Why the output shapes are unknown, when they are. */
  unknown?: string;
  /** Trained blobs (BlobProto messages) attached by attachWeights, in the layer's order. */
  weights?: Message[];
}

export interface NetOptions {
  phase?: 'TRAIN' | 'TEST';
  level?: number;
  stages?: string[];
  dialect?: Dialect;
  file?: string;
  /** Shapes for net inputs and data-layer tops (`--input data=64,1,28,28`): they replace what the net says or cannot know. */
  inputs?: Record<string, Shape>;
}

export class Net {
  constructor(
    readonly name: string,
    readonly state: NetState,
    readonly dialect: Dialect,
    readonly layers: NetLayer[],
    /** Every blob version, in the order created. */
    readonly blobVersions: NetBlob[],
  ) {}

  /** The last version of every blob name, in first-seen order: what CLI.md's `blobs` reports. */
  blobs(): Map<string, NetBlob> {
    const m = new Map<string, NetBlob>();
    for (const b of this.blobVersions) m.set(b.name, b);
    return m;
  }

  /** Blobs no layer reads: the net's outputs. */
  outputs(): NetBlob[] {
    return [...this.blobs().values()].filter((b) => b.consumers.length === 0 && b.producer >= 0);
  }

  inputs(): NetBlob[] {
    return this.blobVersions.filter((b) => b.producer === -1);
  }

  layer(name: string): NetLayer | undefined {
    return this.layers.find((l) => l.name === name);
  }

  /** A layer's parameter message (`convolution_param`...) with this net's dialect defaults. */
  params(layer: NetLayer, field: string): Params {
    return layerParams(layer.layer, field, this.dialect);
  }
}

function layerParams(layer: Message, field: string, dialect: Dialect): Params {
  const f = messageInfo(dialectSchema(dialect), 'LayerParameter').byName.get(field);
  if (!f?.message) throw new CaffeToolError(`LayerParameter has no message field ${field} in dialect ${dialect}`);
  return new Params((layer[field] as Message | undefined) ?? {}, f.message);
}

export function buildNet(param: Message, opts: NetOptions = {}): Net {
  const dialect = opts.dialect ?? 'bvlc';
  const where: Where = { file: opts.file };
  refuseOldFormats(param, where);
  const state = netState(param, opts);
  const versions: NetBlob[] = [];
  const current = new Map<string, NetBlob>();
  const addBlob = (name: string, shape: Shape | undefined, producer: number, version: number) => {
    const b: NetBlob = { name, version, shape, producer, consumers: [] };
    versions.push(b);
    current.set(name, b);
    return b;
  };
  const overrides = new Map(Object.entries(opts.inputs ?? {}));
  const used = new Set<string>();
  const override = (name: string, shape: Shape | undefined) => {
    const o = overrides.get(name);
    if (!o) return shape;
    used.add(name);
    return o;
  };
  for (const [name, shape] of legacyInputs(param, where)) addBlob(name, override(name, shape), -1, 0);

  const layers: NetLayer[] = [];
  for (const layer of (param.layer as Message[] | undefined) ?? []) {
    if (!layerIncluded(state, layer)) continue;
    const index = layers.length;
    const name = (layer.name as string | undefined) ?? `(layer ${index})`;
    const type = (layer.type as string | undefined) ?? '';
    const at: Where = { ...where, layer: name };
    const fail = (message: string, hint?: string) => new CaffeToolError(message, { where: at, hint });
    const def = layerDef(type, { layer: name, dialect });
    const bottomNames = (layer.bottom as string[] | undefined) ?? [];
    const topNames = (layer.top as string[] | undefined) ?? [];
    checkCount(def.bottoms, bottomNames.length, 'bottom', type, fail);
    checkCount(def.tops, topNames.length, 'top', type, fail);

    const bottoms = bottomNames.map((b) => {
      const blob = current.get(b);
      if (!blob) {
        const known = [...current.keys()];
        throw fail(
          `bottom '${b}' does not exist at this point of the net (phase ${state.phase})`,
          known.length ? `blobs available here: ${known.join(', ')}` : 'no blob exists yet: the net has no input or data layer before this one',
        );
      }
      blob.consumers.push(index);
      return blob;
    });

    // Caffe refuses a second producer before it sets any layer up.
    topNames.forEach((t, i) => {
      const existing = current.get(t);
      if (existing && bottomNames[i] !== t) {
        const producer = existing.producer >= 0 ? `layer '${layers[existing.producer].name}'` : 'the net input';
        throw fail(
          `top '${t}' is already produced by ${producer}`,
          bottomNames.includes(t) ? `an in-place top must be at the same position as its bottom (top ${i} is '${t}', bottom ${i} is '${bottomNames[i] ?? 'missing'}')` : 'give this top a new name, or make the layer in-place (top equal to bottom)',
        );
      }
    });

    const ctx = layerContext(layer, name, type, dialect, state, bottoms, topNames);
    const known = bottoms.every((b) => b.shape);
    let shapes: (Shape | undefined)[] = topNames.map(() => undefined);
    let unknown: string | undefined;
    let learned: BlobSpec[] | undefined;
    let macs: number | undefined;
    if (known) {
      try {
        shapes = def.outputShapes(ctx);
        learned = def.blobs ? def.blobs(ctx) : [];
      } catch (e) {
        if (!(e instanceof CaffeToolError)) throw e;
        const inputs = bottoms.map((b) => formatShape(b.shape)).join(', ');
        throw new CaffeToolError(`${type} layer: ${e.message}`, { where: at, hint: e.hint ?? (inputs ? `input shape${bottoms.length > 1 ? 's' : ''}: ${inputs}` : undefined) });
      }
      shapes.forEach((s, i) => {
        if (s && s.some((d) => !(d > 0))) {
          throw fail(`top '${topNames[i]}' would be ${formatShape(s)}, an empty or negative shape`, `input: ${bottoms.map((b) => formatShape(b.shape)).join(', ')}`);
        }
      });
      if (shapes.some((s) => !s)) {
        const reason = def.unknownShapeReason;
        unknown = typeof reason === 'function' ? reason(ctx) : (reason ?? `${type} output shapes depend on its data`);
      }
      else macs = def.macs ? def.macs(ctx, shapes as Shape[]) : 0;
    } else {
      unknown = 'an input shape is unknown';
    }

    if (!bottoms.length) {
      shapes = shapes.map((s, i) => override(topNames[i], s));
      if (shapes.every(Boolean)) [unknown, macs] = [undefined, macs ?? 0];
    }
    const tops = topNames.map((t, i) => addBlob(t, shapes[i], index, (current.get(t)?.version ?? -1) + 1));

    const lossWeight = (layer.loss_weight as ArrayLike<number> | undefined) ?? [];
    const lossWeights = topNames.map((_, i) => (lossWeight.length ? (lossWeight[i] ?? 0) : def.loss && i === 0 ? 1 : 0));
    layers.push({ index, name, type, def, layer, bottoms, tops, learned, macs, lossWeights, unknown });
  }
  for (const name of overrides.keys()) {
    if (!used.has(name)) {
      const inputs = versions.filter((b) => b.producer === -1 || layers[b.producer].bottoms.length === 0).map((b) => b.name);
      throw new CaffeToolError(`--input ${name}: the net has no input or data-layer top of that name`, { where, hint: `inputs here: ${inputs.join(', ') || 'none'}` });
    }
  }
  return new Net((param.name as string | undefined) ?? '', state, dialect, layers, versions);
}

function refuseOldFormats(param: Message, where: Where): void {
  const old = (param.layers as Message[] | undefined) ?? [];
  if (!old.length) return;
  const v0 = old.some((l) => l.layer !== undefined);
  throw new CaffeToolError(
    `this net is in the old ${v0 ? 'V0 format (layers { layer { type: "conv" } })' : 'V1 format (layers { type: CONVOLUTION })'}: upgrade it before building it`,
    { where, hint: 'upgradeNet() from src/convert/upgrade does it in memory (loadNet does it for you); caffe-tool upgrade IN OUT writes the upgraded file' },
  );
}

function netState(param: Message, opts: NetOptions): NetState {
  const s = (param.state as Message | undefined) ?? {};
  return {
    phase: opts.phase ?? ((s.phase as 'TRAIN' | 'TEST' | undefined) ?? 'TEST'),
    level: opts.level ?? ((s.level as number | undefined) ?? 0),
    stages: [...((s.stage as string[] | undefined) ?? []), ...(opts.stages ?? [])],
  };
}

/** The legacy `input` names with `input_shape` or `input_dim` (4 per input), as Caffe's input upgrade reads them. */
function legacyInputs(param: Message, where: Where): [string, Shape | undefined][] {
  const names = (param.input as string[] | undefined) ?? [];
  if (!names.length) return [];
  const shapes = (param.input_shape as Message[] | undefined) ?? [];
  const dims = Array.from((param.input_dim as ArrayLike<number> | undefined) ?? [], Number);
  if (shapes.length && dims.length) throw new CaffeToolError('the net gives both input_shape and input_dim: use one', { where });
  if (shapes.length) {
    if (shapes.length !== names.length && shapes.length !== 1) {
      throw new CaffeToolError(`${names.length} inputs but ${shapes.length} input_shape: give one per input`, { where });
    }
    return names.map((n, i) => [n, Array.from((shapes[shapes.length === 1 ? 0 : i].dim as ArrayLike<number>) ?? [], Number)]);
  }
  if (dims.length) {
    if (dims.length !== 4 * names.length) {
      throw new CaffeToolError(`${names.length} inputs need ${4 * names.length} input_dim values (4 each), got ${dims.length}`, { where });
    }
    return names.map((n, i) => [n, dims.slice(4 * i, 4 * i + 4)]);
  }
  return names.map((n) => [n, undefined]);
}

function checkCount(range: [number, number] | undefined, n: number, what: string, type: string, fail: (m: string) => CaffeToolError): void {
  if (!range) return;
  const [min, max] = range;
  if (n >= min && n <= max) return;
  const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
  throw fail(`a ${type} layer takes ${want} ${what}${max === 1 ? '' : 's'}, this one has ${n}`);
}

function layerContext(
  layer: Message, name: string, type: string, dialect: Dialect, state: NetState,
  bottoms: NetBlob[], tops: string[],
): LayerContext {
  return {
    name, type, layer, dialect, phase: state.phase,
    bottoms: bottoms.map((b) => b.name),
    tops,
    inputs: bottoms.map((b) => b.shape ?? []),
    param: (field: string) => layerParams(layer, field, dialect),
  };
}
