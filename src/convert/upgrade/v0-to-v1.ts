// V0 -> V1 (Caffe's UpgradeV0Net): `layers { layer { type: "conv" num_output: 96 ... } bottom top }` becomes
// `layers { type: CONVOLUTION convolution_param { num_output: 96 } bottom top }`. Padding layers are folded
// first. Each flat V0 field goes to the V1 sub-message its layer type uses; a field the type has no place for
// is dropped with Caffe's "Unknown parameter" warning (the net is then "not fully compatible"). Data
// transformation fields (scale, meanfile, cropsize, mirror) go to transform_param whatever the type.
import type { Message } from '../../io/message.js';
import { has, items, layerLabel, otherFields, show, type StepResult, upgradeError, where } from './common.js';
import { upgradeV0PaddingLayers } from './v0-padding.js';

/** Caffe's UpgradeV0LayerType: the V0 type strings and the V1 enum each becomes. Anything else is fatal. */
export const V0_LAYER_TYPES: Readonly<Record<string, string>> = {
  accuracy: 'ACCURACY',
  bnll: 'BNLL',
  concat: 'CONCAT',
  conv: 'CONVOLUTION',
  data: 'DATA',
  dropout: 'DROPOUT',
  euclidean_loss: 'EUCLIDEAN_LOSS',
  flatten: 'FLATTEN',
  hdf5_data: 'HDF5_DATA',
  hdf5_output: 'HDF5_OUTPUT',
  im2col: 'IM2COL',
  images: 'IMAGE_DATA',
  infogain_loss: 'INFOGAIN_LOSS',
  innerproduct: 'INNER_PRODUCT',
  lrn: 'LRN',
  multinomial_logistic_loss: 'MULTINOMIAL_LOGISTIC_LOSS',
  pool: 'POOLING',
  relu: 'RELU',
  sigmoid: 'SIGMOID',
  softmax: 'SOFTMAX',
  softmax_loss: 'SOFTMAX_LOSS',
  split: 'SPLIT',
  tanh: 'TANH',
  window_data: 'WINDOW_DATA',
};

/** How a value is placed: set a scalar, append to a repeated field, or copy a message. */
type Place = 'set' | 'add';

/** Where one V0 field goes, by V0 layer type: [V1 sub-message, its field, how]. */
interface Rule {
  field: string;
  /** Shown in Caffe's warning when it differs from the field name ("shuffle" for shuffle_images). */
  caffeName?: string;
  to: Readonly<Record<string, readonly [string, string, Place]>> | 'transform';
  /** The transform_param field, for `to: 'transform'`. */
  transformField?: string;
}

const conv = 'convolution_param';
const ip = 'inner_product_param';
const pool = 'pooling_param';
const lrn = 'lrn_param';
const data = 'data_param';
const hdf5 = 'hdf5_data_param';
const images = 'image_data_param';
const windows = 'window_data_param';

/** Caffe's UpgradeV0LayerParameter, field by field and in its order. */
const RULES: readonly Rule[] = [
  { field: 'num_output', to: { conv: [conv, 'num_output', 'set'], innerproduct: [ip, 'num_output', 'set'] } },
  { field: 'biasterm', to: { conv: [conv, 'bias_term', 'set'], innerproduct: [ip, 'bias_term', 'set'] } },
  { field: 'weight_filler', to: { conv: [conv, 'weight_filler', 'set'], innerproduct: [ip, 'weight_filler', 'set'] } },
  { field: 'bias_filler', to: { conv: [conv, 'bias_filler', 'set'], innerproduct: [ip, 'bias_filler', 'set'] } },
  { field: 'pad', to: { conv: [conv, 'pad', 'add'], pool: [pool, 'pad', 'set'] } },
  { field: 'kernelsize', to: { conv: [conv, 'kernel_size', 'add'], pool: [pool, 'kernel_size', 'set'] } },
  { field: 'group', to: { conv: [conv, 'group', 'set'] } },
  { field: 'stride', to: { conv: [conv, 'stride', 'add'], pool: [pool, 'stride', 'set'] } },
  { field: 'pool', to: { pool: [pool, 'pool', 'set'] } },
  { field: 'dropout_ratio', to: { dropout: ['dropout_param', 'dropout_ratio', 'set'] } },
  { field: 'local_size', to: { lrn: [lrn, 'local_size', 'set'] } },
  { field: 'alpha', to: { lrn: [lrn, 'alpha', 'set'] } },
  { field: 'beta', to: { lrn: [lrn, 'beta', 'set'] } },
  { field: 'k', to: { lrn: [lrn, 'k', 'set'] } },
  {
    field: 'source',
    to: {
      data: [data, 'source', 'set'],
      hdf5_data: [hdf5, 'source', 'set'],
      images: [images, 'source', 'set'],
      window_data: [windows, 'source', 'set'],
      infogain_loss: ['infogain_loss_param', 'source', 'set'],
    },
  },
  { field: 'scale', to: 'transform', transformField: 'scale' },
  { field: 'meanfile', to: 'transform', transformField: 'mean_file' },
  {
    field: 'batchsize',
    to: {
      data: [data, 'batch_size', 'set'],
      hdf5_data: [hdf5, 'batch_size', 'set'],
      images: [images, 'batch_size', 'set'],
      window_data: [windows, 'batch_size', 'set'],
    },
  },
  { field: 'cropsize', to: 'transform', transformField: 'crop_size' },
  { field: 'mirror', to: 'transform', transformField: 'mirror' },
  { field: 'rand_skip', to: { data: [data, 'rand_skip', 'set'], images: [images, 'rand_skip', 'set'] } },
  { field: 'shuffle_images', caffeName: 'shuffle', to: { images: [images, 'shuffle', 'set'] } },
  { field: 'new_height', to: { images: [images, 'new_height', 'set'] } },
  { field: 'new_width', to: { images: [images, 'new_width', 'set'] } },
  { field: 'concat_dim', to: { concat: ['concat_param', 'concat_dim', 'set'] } },
  { field: 'det_fg_threshold', to: { window_data: [windows, 'fg_threshold', 'set'] } },
  { field: 'det_bg_threshold', to: { window_data: [windows, 'bg_threshold', 'set'] } },
  { field: 'det_fg_fraction', to: { window_data: [windows, 'fg_fraction', 'set'] } },
  { field: 'det_context_pad', to: { window_data: [windows, 'context_pad', 'set'] } },
  { field: 'det_crop_mode', to: { window_data: [windows, 'crop_mode', 'set'] } },
  { field: 'hdf5_output_param', to: { hdf5_output: ['hdf5_output_param', '', 'set'] } },
];

/** The V0 pooling methods Caffe maps (by name: they are the same in PoolingParameter). */
const POOL_METHODS = new Set(['MAX', 'AVE', 'STOCHASTIC']);

/** V0 fields that move as they are (blobs, learning rates) or name the layer. */
const V0_KEPT = new Set(['name', 'type', 'blobs', 'blobs_lr', 'weight_decay']);
const V0_HANDLED = new Set([...V0_KEPT, ...RULES.map((r) => r.field)]);

/** The NetParameter fields Caffe's V0 upgrade keeps: it clears the net and copies these back. */
const NET_KEPT = new Set(['name', 'layers', 'input', 'input_dim', 'force_backward']);

export function upgradeV0ToV1(net: Message): StepResult {
  const padded = upgradeV0PaddingLayers(net);
  const src = padded.net;
  const changes = [...padded.changes];
  const warnings = [...padded.warnings];
  const out: Message = {};
  if (src.name !== undefined) out.name = src.name;
  const layers = items<Message>(src, 'layers');
  const upgraded: Message[] = [];
  for (let i = 0; i < layers.length; i++) {
    const r = upgradeV0Layer(layers[i], i);
    upgraded.push(r.layer);
    if (r.change) changes.push(r.change);
    warnings.push(...r.warnings);
  }
  out.layers = upgraded;
  if (has(src, 'input')) out.input = src.input;
  if (has(src, 'input_dim')) out.input_dim = src.input_dim;
  if (src.force_backward !== undefined) out.force_backward = src.force_backward;
  for (const f of otherFields(src, NET_KEPT)) {
    warnings.push(`net: ${f} dropped: Caffe's V0 upgrade keeps only name, input, input_dim and force_backward`);
  }
  if (hasUnknown(src)) warnings.push('net: fields unknown to the schema dropped, as Caffe\'s V0 upgrade drops them');
  return { net: out, changes, warnings };
}

function hasUnknown(m: Message): boolean {
  return Object.getOwnPropertySymbols(m).some((s) => ((m as Record<symbol, unknown>)[s] as unknown[] | undefined)?.length);
}

/** One V0 `layers` entry (a V1LayerParameter holding a V0 `layer`) to a V1 layer. */
function upgradeV0Layer(conn: Message, index: number): { layer: Message; change?: string; warnings: string[] } {
  const warnings: string[] = [];
  const out: Message = {};
  if (has(conn, 'bottom')) out.bottom = conn.bottom;
  if (has(conn, 'top')) out.top = conn.top;
  const v0 = conn.layer as Message | undefined;
  const label = v0 ? layerLabel(v0, index) : layerLabel(conn, index);
  const dropped = otherFields(conn, new Set(['bottom', 'top', 'layer']));
  if (dropped.length) {
    warnings.push(`layer ${label}: ${dropped.join(', ')} outside the V0 'layer { }' dropped, as Caffe's V0 upgrade drops them`);
  }
  if (hasUnknown(conn)) warnings.push(`layer ${label}: fields unknown to the schema dropped`);
  if (!v0) {
    warnings.push(`layer ${label}: a V1-style layer in a V0 net keeps only its bottoms and tops, as in Caffe's V0 upgrade`);
    return { layer: out, warnings };
  }
  const moves: string[] = [];
  const grouped = new Map<string, string[]>();
  if (v0.name !== undefined) out.name = v0.name;
  const type = (v0.type as string | undefined) ?? '';
  if (v0.type !== undefined) {
    const v1 = V0_LAYER_TYPES[type];
    if (!v1) {
      throw upgradeError(`Unknown layer name: ${type} (not a V0 layer type Caffe can upgrade)`, {
        where: where(v0, index),
        hint: `the V0 types are ${Object.keys(V0_LAYER_TYPES).join(', ')} (and padding, folded into the next layer)`,
      });
    }
    out.type = v1;
    moves.push(`${show(type)} -> ${v1}`);
  }
  if (has(v0, 'blobs')) out.blobs = v0.blobs;
  if (has(v0, 'blobs_lr')) out.blobs_lr = v0.blobs_lr;
  if (has(v0, 'weight_decay')) out.weight_decay = v0.weight_decay;
  for (const rule of RULES) {
    const value = v0[rule.field];
    if (value === undefined) continue;
    if (rule.to === 'transform') {
      put(out, 'transform_param', rule.transformField!, value, 'set');
      placed(grouped, 'transform_param', rule.field, rule.transformField!);
      continue;
    }
    const dest = rule.to[type];
    if (!dest) {
      warnings.push(`layer ${label}: Unknown parameter ${rule.caffeName ?? rule.field} for layer type ${type} (dropped)`);
      continue;
    }
    const [param, field, how] = dest;
    if (rule.field === 'pool' && !POOL_METHODS.has(value as string)) {
      warnings.push(`layer ${label}: Unknown pool method ${show(value)} (dropped)`);
      continue;
    }
    if (field === '') {
      out[param] = value; // a whole message: hdf5_output_param
      moves.push(`${rule.field} -> ${param}`);
    } else {
      put(out, param, field, value, how);
      placed(grouped, param, rule.field, field);
    }
  }
  for (const [param, fields] of grouped) moves.push(`${param}: ${fields.join(', ')}`);
  const ignored = otherFields(v0, V0_HANDLED);
  if (ignored.length) warnings.push(`layer ${label}: ${ignored.join(', ')} dropped: Caffe's V0 upgrade has no place for them`);
  if (hasUnknown(v0)) warnings.push(`layer ${label}: fields unknown to the schema dropped`);
  return { layer: out, change: `layer ${label}: V0 ${moves.join('; ') || 'layer { } unwrapped'}`, warnings };
}

/** Note for the change line that V0 field `from` went to `param`.`field`. */
function placed(grouped: Map<string, string[]>, param: string, from: string, field: string): void {
  const fields = grouped.get(param) ?? [];
  fields.push(from === field ? field : `${field} (${from})`);
  grouped.set(param, fields);
}

/** Set (or append to) a field of a sub-message of `layer`, creating the sub-message as Caffe's mutable_X does. */
function put(layer: Message, param: string, field: string, value: unknown, how: Place): void {
  const m = ((layer[param] as Message | undefined) ?? {}) as Message;
  layer[param] = m;
  if (how === 'add') m[field] = [...((m[field] as unknown[] | undefined) ?? []), value];
  else m[field] = value;
}
