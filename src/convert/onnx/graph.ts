// A small ONNX graph builder: nodes, initializers and unique names. Layer files emit their forward pass
// through it; model.ts turns it into ONNX bytes.
import { CaffeToolError } from '../../errors.js';

/** A float attribute (plain numbers are integers, as ONNX attributes are typed). */
export interface FloatAttr {
  float: number;
}
export interface FloatsAttr {
  floats: number[];
}
export type AttrValue = number | number[] | string | FloatAttr | FloatsAttr;

export const float = (v: number): FloatAttr => ({ float: v });
export const floats = (v: ArrayLike<number>): FloatsAttr => ({ floats: Array.from(v) });

/** ONNX Runtime's blocked-layout operators (ReorderInput, Conv, pooling, ReorderOutput in NCHWc form). */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
  domain?: string;
}

export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface OnnxTensor {
  name: string;
  dims: number[];
  data: TensorData;
}

export interface OnnxValue {
  name: string;
  /** Dimensions; a string is a symbolic dimension (the batch, with --dynamic-batch); absent: not declared. */
  shape?: (number | string)[];
  /** ONNX element type: 1 float, 7 int64. */
  elemType?: number;
}

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs: OnnxValue[] = [];
  readonly outputs: OnnxValue[] = [];
  /**
   * Float tensors that are the plane-local part of integer flat indices: a MAX Pooling's mask top (h * W + w as
   * floats) of MaxPool's indices over `shape` [N, C, H, W]. An unpooling onto planes of that shape reads the
   * indices themselves, and the mask's own nodes go when nothing else reads it (prune).
   */
  readonly flatIndices = new Map<string, { indices: string; shape: number[] }>();
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(readonly opset: number) {}

  /** A name not used yet, based on `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Reserve a name that must be used exactly (graph inputs and outputs, blob names). */
  claim(name: string): string {
    if (this.names.has(name)) throw new CaffeToolError(`ONNX value name '${name}' is used twice`);
    this.names.add(name);
    return name;
  }

  /** Add a node (of ONNX's own domain unless `domain`); returns its first output. Outputs not given get unique names from the op. */
  node(op: string, inputs: string[], opts: { outputs?: string[]; attrs?: Record<string, AttrValue>; name?: string; count?: number; domain?: string } = {}): string {
    const outputs = opts.outputs ?? Array.from({ length: opts.count ?? 1 }, () => this.unique(`${opts.name ?? op}_out`));
    this.nodes.push({ op, inputs, outputs, attrs: opts.attrs ?? {}, name: this.unique(opts.name ?? op), ...(opts.domain ? { domain: opts.domain } : {}) });
    return outputs[0];
  }

  /** Add a node with several outputs; returns them all. */
  nodeN(op: string, inputs: string[], count: number, opts: { attrs?: Record<string, AttrValue>; name?: string } = {}): string[] {
    const outputs = Array.from({ length: count }, () => this.unique(`${opts.name ?? op}_out`));
    this.node(op, inputs, { ...opts, outputs });
    return outputs;
  }

  /** Drop the nodes whose outputs neither a graph output nor a kept node reads, then the initializers nothing reads. */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name));
    const kept: OnnxNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const input of n.inputs) needed.add(input);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const used = this.initializers.filter((t) => needed.has(t.name));
    this.initializers.splice(0, this.initializers.length, ...used);
    for (const [key, name] of this.constants) if (!needed.has(name)) this.constants.delete(key);
  }

  /** A tensor stored in the model. */
  initializer(base: string, data: TensorData, dims: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** An int64 constant (shapes, axes, pads), shared between nodes that use the same values. */
  int64(values: readonly number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join(',')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.initializer('const_i64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float constant, shared like int64(). */
  float32(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const key = `f32:${dims.join(',')}:${Array.from(values).join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.initializer('const_f32', Float32Array.from(values), dims);
      this.constants.set(key, name);
    }
    return name;
  }
}
