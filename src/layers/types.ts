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
}
