// The layer registry: every layer type caffe-tool knows, one file each. To add a type, write
// src/layers/<type>.ts exporting its LayerDef and list it here.
import { CaffeToolError, closestNames } from '../errors.js';
import type { LayerDef } from './types.js';
// vision
import { convolution } from './convolution.js';
import { innerProduct } from './inner-product.js';
import { pooling } from './pooling.js';
import { convolutionDepthwise } from './convolution-depthwise.js';
import { crop } from './crop.js';
import { deconvolution } from './deconvolution.js';
import { embed } from './embed.js';
import { im2col } from './im2col.js';
import { interp } from './interp.js';
import { lrn } from './lrn.js';
import { roiPooling } from './roi-pooling.js';
import { spp } from './spp.js';
import { upsample } from './upsample.js';
// activations and element-wise
import { relu } from './relu.js';
import { absVal } from './abs-val.js';
import { argMax } from './arg-max.js';
import { bnll } from './bnll.js';
import { clip } from './clip.js';
import { dropout } from './dropout.js';
import { eltwise } from './eltwise.js';
import { elu } from './elu.js';
import { exp } from './exp.js';
import { log } from './log.js';
import { mvn } from './mvn.js';
import { power } from './power.js';
import { prelu } from './prelu.js';
import { sigmoid } from './sigmoid.js';
import { softmax } from './softmax.js';
import { swish } from './swish.js';
import { tanh } from './tanh.js';
import { threshold } from './threshold.js';
// data
import { input } from './input.js';
import { annotatedData } from './annotated-data.js';
import { data } from './data.js';
import { denseImageData } from './dense-image-data.js';
import { dummyData } from './dummy-data.js';
import { hdf5Data } from './hdf5-data.js';
import { hdf5Output } from './hdf5-output.js';
import { imageData } from './image-data.js';
import { imageSegData } from './image-seg-data.js';
import { memoryData } from './memory-data.js';
import { python } from './python.js';
import { videoData } from './video-data.js';
import { windowData } from './window-data.js';
// shape and routing
import { batchReindex } from './batch-reindex.js';
import { concat } from './concat.js';
import { filter } from './filter.js';
import { flatten } from './flatten.js';
import { parameter } from './parameter.js';
import { reduction } from './reduction.js';
import { reshape } from './reshape.js';
import { silence } from './silence.js';
import { matWrite } from './mat-write.js';
import { slice } from './slice.js';
import { split } from './split.js';
import { tile } from './tile.js';
// normalization and scaling
import { batchNorm } from './batch-norm.js';
import { bias } from './bias.js';
import { bn } from './bn.js';
import { normalize } from './normalize.js';
import { scale } from './scale.js';
// losses and metrics
import { accuracy } from './accuracy.js';
import { contrastiveLoss } from './contrastive-loss.js';
import { euclideanLoss } from './euclidean-loss.js';
import { hingeLoss } from './hinge-loss.js';
import { infogainLoss } from './infogain-loss.js';
import { multiBoxLoss } from './multi-box-loss.js';
import { multinomialLogisticLoss } from './multinomial-logistic-loss.js';
import { segAccuracy } from './seg-accuracy.js';
import { sigmoidCrossEntropyLoss } from './sigmoid-cross-entropy-loss.js';
import { smoothL1Loss } from './smooth-l1-loss.js';
import { softmaxWithLoss } from './softmax-with-loss.js';
// recurrent
import { lstm } from './lstm.js';
import { lstmUnit } from './lstm-unit.js';
import { rnn } from './rnn.js';
// forks
import { detectionEvaluate } from './detection-evaluate.js';
import { detectionOutput } from './detection-output.js';
import { permute } from './permute.js';
import { priorBox } from './prior-box.js';

const ALL: LayerDef[] = [
  // vision
  convolution, innerProduct, pooling,
  convolutionDepthwise, crop, deconvolution, embed, im2col, interp, lrn, roiPooling, spp, upsample,
  // activations and element-wise
  relu, absVal, argMax, bnll, clip, dropout, eltwise, elu, exp, log, mvn, power, prelu, sigmoid, softmax, swish, tanh, threshold,
  // data
  input, annotatedData, data, denseImageData, dummyData, hdf5Data, hdf5Output, imageData, imageSegData, memoryData, python, videoData, windowData,
  // shape and routing
  batchReindex, concat, filter, flatten, parameter, reduction, reshape, silence, slice, split, tile,
  // normalization and scaling
  batchNorm, bias, bn, normalize, scale,
  // losses and metrics
  accuracy, contrastiveLoss, euclideanLoss, hingeLoss, infogainLoss, multiBoxLoss, multinomialLogisticLoss, segAccuracy,
  sigmoidCrossEntropyLoss, smoothL1Loss, softmaxWithLoss,
  // recurrent
  lstm, lstmUnit, rnn,
  // forks
  detectionEvaluate, detectionOutput, matWrite, permute, priorBox,
];

const REGISTRY = new Map<string, LayerDef>();
for (const def of ALL) {
  for (const name of [def.type, ...(def.aliases ?? [])]) {
    if (REGISTRY.has(name)) throw new Error(`layer type ${name} is registered twice`);
    REGISTRY.set(name, def);
  }
}

export function knownLayerTypes(): string[] {
  return [...REGISTRY.keys()].sort();
}

export function findLayerDef(type: string): LayerDef | undefined {
  return REGISTRY.get(type);
}

/** The definition of a layer type, or an error naming the type, the dialect and the file to add. */
export function layerDef(type: string, where: { layer: string; dialect: string }): LayerDef {
  const def = REGISTRY.get(type);
  if (def) return def;
  const near = closestNames(type, REGISTRY.keys());
  const file = type
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .toLowerCase();
  throw new CaffeToolError(`unknown layer type '${type}' (dialect ${where.dialect})`, {
    where: { layer: where.layer },
    hint: `${near.length ? `did you mean ${near.map((n) => `'${n}'`).join(' or ')}? ` : ''}caffe-tool has no src/layers/${file}.ts; to support this type, add that file and list it in src/layers/index.ts`,
  });
}
