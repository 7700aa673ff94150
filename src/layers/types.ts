// What a layer file exports: everything caffe-tool knows about one Caffe layer type.
import type { OnnxGraph } from '../convert/onnx/graph.js';
import type { Dialect } from '../io/schema.js';
import type { Message } from '../io/message.js';
import type { Params } from './params.js';

/** A blob shape, outermost axis first (N, C, H, W for images). */
export type Shape = number[];

/** A learned blob as the layer defines it: what it holds and its shape. */
export interface BlobSpec {
  /** weight, bias, mean, variance, scale_factor, scale, shift, slope... */
  role: string;
  shape: Shape;
}

/** What a layer's functions see: its definition, parameters with defaults, and its input shapes. */
export interface LayerContext {
  name: string;
  type: string;
  /** The whole LayerParameter message. */
  layer: Message;
  dialect: Dialect;
  phase: 'TRAIN' | 'TEST';
  bottoms: string[];
  tops: string[];
  /** Shapes of the bottoms, in order. Functions are only called when all of them are known. */
  inputs: Shape[];
  /** A sub-message of LayerParameter (`convolution_param`...) with the schema's defaults. */
  param(field: string): Params;
}

export interface LayerDef {
  /** The type string of `layer { type: ... }`. */
  type: string;
  /** Other names the same layer goes by (forks, old spellings). */
  aliases?: string[];
  /** The LayerParameter field holding this type's own parameters, when it has one. */
  param?: string;
  /** Allowed bottom and top counts [min, max] (max Infinity for any), as Caffe checks them. */
  bottoms?: [number, number];
  tops?: [number, number];
  /** A loss layer: its first top has loss_weight 1 unless the net says otherwise. */
  loss?: boolean;
  /**
   * The top shapes, with Caffe's exact arithmetic. `undefined` for a shape that cannot be known without
   * running the layer or reading its data source (say why in `unknownShapeReason`).
   */
  outputShapes(ctx: LayerContext): (Shape | undefined)[];
  unknownShapeReason?: string | ((ctx: LayerContext) => string);
  /** The learned blobs, in Caffe's order. Absent: the layer has none. */
  blobs?(ctx: LayerContext): BlobSpec[];
  /** Multiply-accumulates of one forward pass, given the output shapes. */
  macs?(ctx: LayerContext, outputs: Shape[]): number;
  /** A data layer: its tops are the net's inputs (ONNX graph inputs), it computes nothing. */
  source?: boolean;
  /** A layer that only matters in training (losses, accuracy): the ONNX export leaves it out. */
  trainingOnly?: boolean;
  /** The inference forward pass as ONNX nodes, with Caffe's exact semantics. */
  toOnnx?(ctx: OnnxContext): void;
  /** Why a layer without toOnnx cannot be exported (said to the user). */
  noOnnx?: string;
  /**
   * The backward pass as ONNX nodes: the gradients of the bottoms and learned blobs asked for, from the gradients
   * of the tops. Absent: the layer passes no gradient (data layers, Accuracy, ArgMax...).
   */
  gradient?(ctx: GradContext): Gradients;
}

/** What a layer's toOnnx sees: its context, the graph, the ONNX names of its bottoms and tops, its weights. */
export interface OnnxContext extends LayerContext {
  g: OnnxGraph;
  /** ONNX value names of the bottoms, in order. */
  x: string[];
  /** ONNX value names the layer must produce, one per top. */
  y: string[];
  /** The top shapes (with the batch the net was built with). */
  outputs: Shape[];
  /** The learned blobs' specs and values (float32, in the order of blobs()). */
  learned: BlobSpec[];
  weights: Float32Array[];
  /** The batch axis is symbolic: nodes must not bake the batch size in (use 0 in Reshape, Shape ops). */
  dynamicBatch: boolean;
  /**
   * The ONNX value of learned blob i, in `dims` (same count) or its own shape: an initializer when exporting, the
   * parameter fed at each step when training.
   */
  weight(i: number, dims?: Shape): string;
  /** Present when the graph trains (the TRAIN-phase forward of the training engine); absent when exporting. */
  train?: TrainHooks;
  /**
   * false: the graph is for ONNX Runtime's CUDA provider, so no op or attribute it runs on the CPU (MaxUnpool,
   * Col2Im, ArgMax's select_last_index, unequal pooling pads); otherwise the CPU's (the default).
   */
  cpu?: boolean;
}

/** What a training-mode forward can ask of the training graph. */
export interface TrainHooks {
  /** Keep a forward value for the layer's gradient (read back with GradContext.saved). */
  save(key: string, value: string): void;
  /** Learned blob i takes this value after the step (BatchNorm's running statistics, not a gradient update). */
  update(i: number, value: string): void;
  /** A graph input fed with fresh seeded uniform [0, 1) numbers at every step (Dropout's mask). */
  random(shape: Shape): string;
  /** ONNX Runtime's NCHWc block size where the graph runs on its CPU provider: convolutions of fed weights ask for that layout (conv-blocked.ts). */
  nchwcBlock?: number;
}

/** What a layer's gradient sees: its training forward's context plus the gradients flowing back. */
export interface GradContext extends OnnxContext {
  train: TrainHooks;
  /** The gradient of each top (the same shape); undefined where no gradient reaches that top. */
  dy: (string | undefined)[];
  /** Which bottoms need a gradient (propagate_down, and something before them learns). */
  needDx: boolean[];
  /** Which learned blobs need a gradient (lr_mult not 0). */
  needDw: boolean[];
  /** A value the forward saved under `key`. */
  saved(key: string): string;
}

/** A layer's gradients: one entry per bottom and per learned blob, undefined where none was asked for. */
export interface Gradients {
  dx?: (string | undefined)[];
  dw?: (string | undefined)[];
}
