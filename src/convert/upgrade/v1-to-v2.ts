// V1 -> V2 (Caffe's UpgradeV1Net / UpgradeV1LayerParameter): `layers { type: CONVOLUTION blobs_lr: 1 }`
// becomes `layer { type: "Convolution" param { lr_mult: 1 } }`. The rest of the net is kept as it is. Each
// layer is copied field by field: the enum type through Caffe's fixed table, blobs_lr / weight_decay / param
// names / blob_share_mode into one ParamSpec per blob, and every layer parameter message unchanged.
import type { Message } from '../../io/message.js';
import { count, has, items, layerLabel, otherFields, type StepResult, upgradeError, where } from './common.js';

/** Caffe's UpgradeV1LayerType, entry for entry. NONE becomes the empty string; anything else is fatal. */
export const V1_LAYER_TYPES: Readonly<Record<string, string>> = {
  NONE: '',
  ABSVAL: 'AbsVal',
  ACCURACY: 'Accuracy',
  ARGMAX: 'ArgMax',
  BNLL: 'BNLL',
  CONCAT: 'Concat',
  CONTRASTIVE_LOSS: 'ContrastiveLoss',
  CONVOLUTION: 'Convolution',
  DECONVOLUTION: 'Deconvolution',
  DATA: 'Data',
  DROPOUT: 'Dropout',
  DUMMY_DATA: 'DummyData',
  EUCLIDEAN_LOSS: 'EuclideanLoss',
  ELTWISE: 'Eltwise',
  EXP: 'Exp',
  FLATTEN: 'Flatten',
  HDF5_DATA: 'HDF5Data',
  HDF5_OUTPUT: 'HDF5Output',
  HINGE_LOSS: 'HingeLoss',
  IM2COL: 'Im2col',
  IMAGE_DATA: 'ImageData',
  INFOGAIN_LOSS: 'InfogainLoss',
  INNER_PRODUCT: 'InnerProduct',
  LRN: 'LRN',
  MEMORY_DATA: 'MemoryData',
  MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss',
  MVN: 'MVN',
  POOLING: 'Pooling',
  POWER: 'Power',
  RELU: 'ReLU',
  SIGMOID: 'Sigmoid',
  SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss',
  SILENCE: 'Silence',
  SOFTMAX: 'Softmax',
  SOFTMAX_LOSS: 'SoftmaxWithLoss',
  SPLIT: 'Split',
  SLICE: 'Slice',
  TANH: 'TanH',
  WINDOW_DATA: 'WindowData',
  THRESHOLD: 'Threshold',
};

/** The layer parameter messages UpgradeV1LayerParameter copies, in its order (same names in both messages). */
const COPIED_PARAMS = [
  'accuracy_param', 'argmax_param', 'concat_param', 'contrastive_loss_param', 'convolution_param', 'data_param',
  'dropout_param', 'dummy_data_param', 'eltwise_param', 'exp_param', 'hdf5_data_param', 'hdf5_output_param',
  'hinge_loss_param', 'image_data_param', 'infogain_loss_param', 'inner_product_param', 'lrn_param',
  'memory_data_param', 'mvn_param', 'pooling_param', 'power_param', 'relu_param', 'sigmoid_param', 'softmax_param',
  'slice_param', 'tanh_param', 'threshold_param', 'window_data_param', 'transform_param', 'loss_param',
] as const;

const SHARE_MODES = new Set(['STRICT', 'PERMISSIVE']);

const HANDLED = new Set([
  'bottom', 'top', 'name', 'include', 'exclude', 'type', 'blobs', 'param', 'blob_share_mode', 'blobs_lr',
  'weight_decay', 'loss_weight', 'layer', ...COPIED_PARAMS,
]);

/** Caffe's refusal (UpgradeV1Net in BVLC master) of a net that has both `layer` and `layers`. */
export const MIXED_LAYERS_REASON =
  "Refusing to upgrade inconsistent NetParameter input; the definition includes both 'layer' and 'layers' fields. " +
  "The current format defines 'layer' fields with string type like layer { type: 'Layer' ... } and not " +
  "layers { type: LAYER ... }. Manually switch the definition to 'layer' format to continue.";

export function refuseMixedLayers(net: Message): void {
  const v1 = count(net, 'layers');
  const v2 = count(net, 'layer');
  if (v1 > 0 && v2 > 0) {
    throw upgradeError(MIXED_LAYERS_REASON, {
      hint: `this net has ${v1} 'layers' entries (the old format) and ${v2} 'layer' entries (the current one); ` +
        "put the 'layers' part in a file of its own, upgrade that, then paste the result among the 'layer' entries",
    });
  }
}

export function upgradeV1ToV2(net: Message): StepResult {
  refuseMixedLayers(net);
  const changes: string[] = [];
  const warnings: string[] = [];
  const out: Message = { ...net };
  delete out.layers;
  delete out.layer;
  const layers = items<Message>(net, 'layers');
  const upgraded: Message[] = [];
  for (let i = 0; i < layers.length; i++) {
    const r = upgradeV1Layer(layers[i], i);
    upgraded.push(r.layer);
    changes.push(r.change);
    warnings.push(...r.warnings);
  }
  out.layer = upgraded;
  return { net: out, changes, warnings };
}

function upgradeV1Layer(v1: Message, index: number): { layer: Message; change: string; warnings: string[] } {
  const label = layerLabel(v1, index);
  const warnings: string[] = [];
  const moves: string[] = [];
  const out: Message = {};
  if (has(v1, 'bottom')) out.bottom = v1.bottom;
  if (has(v1, 'top')) out.top = v1.top;
  if (v1.name !== undefined) out.name = v1.name;
  if (has(v1, 'include')) out.include = v1.include;
  if (has(v1, 'exclude')) out.exclude = v1.exclude;
  if (v1.type !== undefined) {
    const type = v1.type as string | number;
    const v2 = typeof type === 'string' ? V1_LAYER_TYPES[type] : undefined;
    if (v2 === undefined) {
      throw upgradeError(`Unknown V1LayerParameter layer type: ${type}`, {
        where: where(v1, index),
        hint: typeof type === 'number'
          ? 'a fork\'s V1 layer type that BVLC Caffe cannot upgrade: upgrade it with that fork\'s own tools'
          : `the V1 types Caffe upgrades are ${Object.keys(V1_LAYER_TYPES).join(', ')}`,
      });
    }
    out.type = v2;
    moves.push(`${type} -> ${v2 === '' ? '"" (no type)' : v2}`);
  }
  if (has(v1, 'blobs')) out.blobs = v1.blobs;
  const names = items<string>(v1, 'param');
  const modes = items<string | number>(v1, 'blob_share_mode');
  const lrs = items<number>(v1, 'blobs_lr');
  const decays = items<number>(v1, 'weight_decay');
  const n = Math.max(names.length, modes.length, lrs.length, decays.length);
  if (n > 0) {
    const specs: Message[] = Array.from({ length: n }, () => ({}));
    for (let i = 0; i < names.length; i++) specs[i].name = names[i];
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[i];
      if (typeof mode !== 'string' || !SHARE_MODES.has(mode)) {
        throw upgradeError(`Unknown blob_share_mode: ${mode}`, { where: where(v1, index) });
      }
      specs[i].share_mode = mode;
    }
    for (let i = 0; i < lrs.length; i++) specs[i].lr_mult = lrs[i];
    for (let i = 0; i < decays.length; i++) specs[i].decay_mult = decays[i];
    out.param = specs;
    if (names.length) moves.push('param -> param.name');
    if (modes.length) moves.push('blob_share_mode -> param.share_mode');
    if (lrs.length) moves.push('blobs_lr -> param.lr_mult');
    if (decays.length) moves.push('weight_decay -> param.decay_mult');
  }
  if (has(v1, 'loss_weight')) out.loss_weight = v1.loss_weight;
  for (const p of COPIED_PARAMS) if (v1[p] !== undefined) out[p] = v1[p];
  if (v1.layer !== undefined) warnings.push(`layer ${label}: Input NetParameter has V0 layer -- ignoring.`);
  const dropped = otherFields(v1, HANDLED);
  if (dropped.length) warnings.push(`layer ${label}: ${dropped.join(', ')} dropped: Caffe's V1 upgrade does not copy them`);
  if (Object.getOwnPropertySymbols(v1).some((s) => ((v1 as Record<symbol, unknown>)[s] as unknown[] | undefined)?.length)) {
    warnings.push(`layer ${label}: fields unknown to the schema dropped (a V1 layer's field numbers mean nothing in a V2 layer)`);
  }
  return { layer: out, change: `layer ${label}: ${moves.join('; ') || 'layers { } -> layer { }'}`, warnings };
}
