// Which Caffe fork a file was written for. Binary files: the layer type strings and which schema the layer
// parameters decode cleanly under. Text files: the dialects that know every field name used, then the types.
import { CaffeToolError } from '../errors.js';
import type { ByteSource } from './binary/source.js';
import { LEN, VARINT, walkField } from './binary/wire.js';
import type { Message } from './message.js';
import { DIALECTS, type Dialect, dialectSchema } from './schema.js';
import { misfit } from './sniff.js';

/** Layer types that only some forks have; a net using one is read with one of those forks' schemas. */
export const FORK_LAYER_TYPES: Record<string, readonly Dialect[]> = {
  BN: ['segnet', 'enet', 'pspnet'],
  Upsample: ['segnet', 'enet'],
  DenseImageData: ['segnet', 'enet'],
  Interp: ['deeplab', 'pspnet'],
  SegAccuracy: ['deeplab', 'pspnet'],
  ImageSegData: ['deeplab'],
  DenseCRF: ['deeplab'],
  MatWrite: ['deeplab', 'pspnet'],
  BiasChannel: ['pspnet'],
  ROIPooling: ['fast-rcnn'],
  SmoothL1Loss: ['fast-rcnn', 'ssd', 'nvcaffe'],
  AnnotatedData: ['ssd', 'nvcaffe'],
  MultiBoxLoss: ['ssd', 'nvcaffe'],
  Permute: ['ssd', 'nvcaffe'],
  PriorBox: ['ssd', 'nvcaffe'],
  DetectionOutput: ['ssd', 'nvcaffe'],
  DetectionEvaluate: ['ssd', 'nvcaffe'],
  Normalize: ['ssd', 'nvcaffe'],
  VideoData: ['ssd', 'nvcaffe'],
};

/**
 * BVLC layer types that a fork's own Caffe does not have, although caffe-tool's schema for the fork (BVLC plus
 * its patch) knows their parameters, so that files mixing them still read. What caffe-tool writes for such a
 * fork must not bring them in. SegNet (alexgkendall/caffe-segnet, src/caffe/proto/caffe.proto) branched before
 * them: its LayerParameter stops at 138 ("next available layer-specific ID: 139"; 137 and 138 hold upsample_param
 * and dense_image_data_param), so it has none of batch_norm_param (139) to clip_param (148), embed or tile.
 */
export const MISSING_LAYER_TYPES: Partial<Record<Dialect, readonly string[]>> = {
  segnet: ['Embed', 'Tile', 'BatchNorm', 'ELU', 'Bias', 'Scale', 'Input', 'Crop', 'Parameter', 'RNN', 'LSTM', 'Swish', 'Clip'],
};

/** Whether the fork's own Caffe has a layer type (BVLC's or its own). */
export function dialectHasLayerType(dialect: Dialect, type: string): boolean {
  return !MISSING_LAYER_TYPES[dialect]?.includes(type) && (FORK_LAYER_TYPES[type]?.includes(dialect) ?? true);
}

/** How many layers use a type the dialect lacks (an ENet net with an Input layer is not a SegNet net). */
function typePenalty(dialect: Dialect, types: Iterable<string>): number {
  let n = 0;
  for (const t of types) if (!dialectHasLayerType(dialect, t)) n++;
  return n;
}

/** The layer type strings of a decoded net (V2 `layer.type`, V1 `layers.type` enum names). */
export function layerTypes(net: Message): string[] {
  const out: string[] = [];
  for (const l of (net.layer as Message[] | undefined) ?? []) if (typeof l.type === 'string') out.push(l.type);
  for (const l of (net.layers as Message[] | undefined) ?? []) if (typeof l.type === 'string') out.push(l.type);
  return out;
}

/** Choose among the dialects a text file's names allow. */
export function chooseTextDialect(allowed: ReadonlySet<string>, net: Message | undefined, file?: string): Dialect {
  const candidates = DIALECTS.filter((d) => allowed.has(d));
  if (!candidates.length) {
    throw new CaffeToolError('this file uses fields of different Caffe forks together; no single dialect has them all', {
      where: { file },
      // Not every command takes --dialect; convert reads any Caffe file and does.
      hint: `read it as the fork it is for to see which field does not belong: caffe-tool convert ${file ?? 'FILE'} OUT.prototxt --dialect NAME ` +
        `(${DIALECTS.join(', ')}), or --dialect NAME on a command that takes it`,
    });
  }
  const types = net ? layerTypes(net) : [];
  let best = candidates[0];
  for (const d of candidates) if (typePenalty(d, types) < typePenalty(best, types)) best = d;
  return best;
}

/** The V2 layer (field 100), V1 layer (2) and V0 nested layer (1 inside 2) fields that hold blobs. */
const BLOB_FIELDS_V2 = new Set([7]);
const BLOB_FIELDS_V1 = new Set([6, 1]);

/**
 * The dialect of a binary NetParameter: the one whose schema fits the layers' parameters best (blob data
 * is skipped: it is the same in every fork), fork-only layer types breaking ties, BVLC first.
 */
export function detectBinaryDialect(src: ByteSource): { dialect: Dialect; scores: Partial<Record<Dialect, number>> } {
  const layers = layerRanges(src);
  const scores: Partial<Record<Dialect, number>> = {};
  const penalties: Partial<Record<Dialect, number>> = {};
  const rank = (d: Dialect) => scores[d]! * 1000 + penalties[d]!;
  let best: Dialect = 'bvlc';
  for (const d of DIALECTS) {
    [scores[d], penalties[d]] = fit(src, d, layers);
    if (rank(d) < rank(best)) best = d;
    // BVLC fitting perfectly cannot be beaten (ties go to BVLC): spare loading the forks' schemas.
    if (d === 'bvlc' && rank(d) === 0) break;
  }
  return { dialect: best, scores };
}

/** How badly a net's layers fit a dialect's schema, and how many of its layer types the dialect lacks. */
function fit(src: ByteSource, dialect: Dialect, layers: LayerRange[]): [number, number] {
  const s = dialectSchema(dialect);
  const layerInfo = s.messages.get('LayerParameter')!;
  const v1Info = s.messages.get('V1LayerParameter')!;
  const v1Types = s.enums.get('V1LayerParameter.LayerType')!;
  let score = 0;
  const types: string[] = [];
  for (const l of layers) {
    score += l.v1 ? misfit(src, v1Info, l.start, l.end, 2, BLOB_FIELDS_V1) : misfit(src, layerInfo, l.start, l.end, 2, BLOB_FIELDS_V2);
    if (l.type !== undefined) types.push(typeof l.type === 'string' ? l.type : (v1Types.byNumber.get(l.type) ?? ''));
  }
  return [score, typePenalty(dialect, types)];
}

interface LayerRange {
  start: number;
  end: number;
  v1: boolean;
  type?: string | number;
}

/** Where each layer message sits in a binary NetParameter, with its type when it is near the start. */
function layerRanges(src: ByteSource): LayerRange[] {
  const out: LayerRange[] = [];
  let pos = 0;
  while (pos < src.size) {
    const head = src.read(pos, Math.min(20, src.size - pos));
    const f = walkField(head, 0);
    if (!f) break;
    if (f.wire !== LEN) {
      pos += f.valueEnd!;
      continue;
    }
    const start = pos + f.valueStart;
    const end = start + f.length;
    if (end > src.size) break;
    if (f.number === 100 || f.number === 2) out.push({ start, end, v1: f.number === 2, type: layerType(src, start, end, f.number === 2) });
    pos = end;
  }
  return out;
}

/** A layer's type: field 2 (string) of a V2 layer, field 5 (enum) of a V1 layer, read from its first fields. */
function layerType(src: ByteSource, start: number, end: number, v1: boolean): string | number | undefined {
  let pos = start;
  for (let i = 0; i < 64 && pos < end; i++) {
    const head = src.read(pos, Math.min(20, end - pos));
    const f = walkField(head, 0);
    if (!f) return undefined;
    if (!v1 && f.number === 2 && f.wire === LEN && f.length < 256) {
      return Buffer.from(src.read(pos + f.valueStart, f.length)).toString('latin1');
    }
    if (v1 && f.number === 5 && f.wire === VARINT) {
      let v = 0;
      for (let k = f.valueStart, s = 1; k < f.valueEnd!; k++, s *= 128) v += (head[k] & 0x7f) * s;
      return v;
    }
    pos += f.wire === LEN ? f.valueStart + f.length : f.valueEnd!;
  }
  return undefined;
}
