// ONNX Runtime's blocked NCHWc layout, laid out in the export for a CPU session. At every session start ONNX
// Runtime's NchwcTransformer rewrites each 2-D Conv with constant weights into its com.microsoft.nchwc form: the
// filter reordered into blocks of the CPU's NCHWc size (runtime/nchwc.ts) with the output channels padded to it,
// ReorderInput/ReorderOutput at the edges, a following Relu and a residual Add fused into the Conv, pooling on
// the blocked tensors. That rewrite is most of the session's start (ResNet-50: ~140 ms at level 'all' against
// ~55 ms for the same graph already blocked). Done here, the folded BatchNorm/Scale factors go into the same
// pass over each weight. The rules and fusion choices are the transformer's (nchwc_transformer.cc), so the
// kernels that run and their results are the ones ONNX Runtime would have picked; what this does not cover
// (BatchNormalization, Mul, Transpose, Resize) it leaves for ONNX Runtime to rewrite as before.
import { type AttrValue, NCHWC_DOMAIN as NCHWC, type OnnxGraph, type OnnxNode } from './graph.js';
import { sharesMemory, type ScaledWeight } from './model.js';

/** A value that exists in blocked form: its name there, its logical channels, and the node that wrote it. */
interface Blocked {
  value: string;
  channels: number;
  producer: OnnxNode;
  shape?: readonly (number | string)[];
}

/**
 * Rewrites `g` in place for ONNX Runtime's CPU provider with NCHWc block size `block`. `scaled`: the weights fold.ts
 * left to be scaled (they are scaled while reordered, and dropped from the map); `shapes`: known value shapes
 * (a residual Add is blocked only when both sides are known to have the same shape).
 */
export function layoutNchwc(g: OnnxGraph, block: number, scaled: Map<string, ScaledWeight>, shapes: ReadonlyMap<string, readonly (number | string)[]>): void {
  const init = new Map(g.initializers.map((t) => [t.name, t]));
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (const o of g.outputs) uses.set(o.name, (uses.get(o.name) ?? 0) + 1);
  const blocked = new Map<string, Blocked>();
  const reordered = new Map<string, string>();
  const filters = new Map<string, string>();
  const old = g.nodes.splice(0);
  const restored = new Set<string>();

  const emit = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue>, name: string, domain?: string): OnnxNode => {
    g.node(op, inputs, { outputs, attrs, name, domain });
    return g.nodes.at(-1)!;
  };
  /** The original (NCHW) value, with a ReorderOutput made the first time a reader needs it. */
  const plain = (v: string): string => {
    const b = blocked.get(v);
    if (b && !restored.has(v)) {
      restored.add(v);
      emit('ReorderOutput', [b.value], [v], { channels: b.channels }, `${v}_reorder_out`, NCHWC);
    }
    return v;
  };
  /** The blocked form of a value, with one ReorderInput per plain value. */
  const blockedInput = (v: string): string => {
    const b = blocked.get(v);
    if (b) return b.value;
    let r = reordered.get(v);
    if (!r) {
      r = g.unique(`${v}_nchwc`);
      reordered.set(v, r);
      emit('ReorderInput', [v], [r], {}, `${v}_reorder_in`, NCHWC);
    }
    return r;
  };
  const produce = (original: string, node: OnnxNode, channels: number) => {
    blocked.set(original, { value: node.outputs[0], channels, producer: node, shape: shapes.get(original) });
  };
  /** A blocked conv whose output only this reader reads and that has nothing fused after it yet. */
  const fusableConv = (v: string): OnnxNode | undefined => {
    const p = blocked.get(v)?.producer;
    return p && p.op === 'Conv' && p.domain === NCHWC && uses.get(v) === 1 && p.attrs.activation === undefined ? p : undefined;
  };

  const conv = (n: OnnxNode): boolean => {
    const w = init.get(n.inputs[1]);
    if (!w || !(w.data instanceof Float32Array) || w.dims.length !== 4) return false;
    const [outC, inC] = w.dims;
    const bias = n.inputs[2] ? init.get(n.inputs[2]) : undefined;
    if (n.inputs[2] && !(bias?.data instanceof Float32Array && bias.dims.length === 1 && bias.dims[0] === outC)) return false;
    const group = (n.attrs.group as number | undefined) ?? 1;
    let blockedIn = true;
    let outputBlocked = false;
    if (group > 1) {
      if (outC % block !== 0) return false;
      if (inC === 1 && outC === group) outputBlocked = true;
      else if (inC % block !== 0 || outC % group !== 0 || (outC / group) % block !== 0) return false;
    } else if (inC < block) {
      outputBlocked = true;
      blockedIn = false;
    } else if (inC % block !== 0) return false;

    const outPadded = Math.ceil(outC / block) * block;
    // One reordered filter per weight and layout, shared by convs that share the weight (Caffe's shared params).
    const key = `${w.name}/${outputBlocked}`;
    let filter = filters.get(key);
    if (!filter) {
      const s = scaled.get(w.name);
      const src = s?.source ?? (w.data as Float32Array);
      // The weight's own array takes the reordered values when nothing else reads it (fresh memory costs more
      // than the reorder); padded channels need a larger one.
      if (outPadded === outC && uses.get(w.name) === 1 && !sharesMemory(w, g.initializers)) {
        reorderFilter(src, s?.scale, w.dims, block, outputBlocked, src);
        filter = w.name;
      } else {
        const dst = new Float32Array(outPadded * (src.length / outC));
        reorderFilter(src, s?.scale, w.dims, block, outputBlocked, dst);
        filter = g.initializer(`${n.name}_W_nchwc`, dst, [outPadded, ...w.dims.slice(1)]);
      }
      scaled.delete(w.name);
      filters.set(key, filter);
    }
    const inputs = [blockedIn ? blockedInput(n.inputs[0]) : plain(n.inputs[0]), filter];
    if (bias) {
      if (outPadded === outC) inputs.push(bias.name);
      else {
        const padded = new Float32Array(outPadded);
        padded.set(bias.data as Float32Array);
        inputs.push(g.initializer(`${n.name}_b_nchwc`, padded, [outPadded]));
      }
    }
    const node = emit('Conv', inputs, [g.unique(`${n.outputs[0]}_nchwc`)], { ...n.attrs }, `${n.name}_nchwc`, NCHWC);
    produce(n.outputs[0], node, outC);
    return true;
  };

  for (const n of old) {
    const ins = n.inputs.map((i) => blocked.get(i));
    const allBlocked = ins.length > 0 && ins.every((b) => b);
    if (n.op === 'Conv' && !n.domain && n.inputs.length >= 2 && conv(n)) continue;
    if (ACTIVATIONS.has(n.op) && ins[0]) {
      // Fused into the conv before it (ONNX Runtime's ConvActivationFusion runs first and takes LeakyRelu too;
      // after a fused Add only Relu, Sigmoid and Tanh), else applied to the blocked values as they are.
      const c = fusableConv(n.inputs[0]);
      const afterSum = (c?.inputs.length ?? 0) > 3;
      if (c && (!afterSum || n.op !== 'LeakyRelu')) {
        c.attrs.activation = n.op;
        if (n.op === 'LeakyRelu') c.attrs.activation_params = { floats: [(n.attrs.alpha as { float: number } | undefined)?.float ?? 0.01] };
        blocked.set(n.outputs[0], { ...ins[0], shape: shapes.get(n.outputs[0]) });
        continue;
      }
      if (n.op !== 'LeakyRelu') {
        produce(n.outputs[0], emit(n.op, [ins[0].value], [g.unique(`${n.outputs[0]}_nchwc`)], n.attrs, n.name), ins[0].channels);
        continue;
      }
    }
    if ((n.op === 'Add' || n.op === 'Sum') && allBlocked && n.inputs.length >= 2 && sameShapes(ins as Blocked[])) {
      const [a, b] = ins as Blocked[];
      // As the transformer: the first input written by a conv with no other reader and nothing fused takes the other as its Sum.
      const target = n.inputs.length === 2 ? [0, 1].find((k) => (fusableConv(n.inputs[k])?.inputs.length ?? 4) < 4) : undefined;
      if (target !== undefined) {
        const c = blocked.get(n.inputs[target])!.producer;
        c.inputs = [c.inputs[0], c.inputs[1], c.inputs[2] ?? '', (target === 0 ? b : a).value];
        // The conv now reads the other side: it moves after that side's producer (only this Add read its output).
        g.nodes.splice(g.nodes.indexOf(c), 1);
        g.nodes.push(c);
        blocked.set(n.outputs[0], { value: c.outputs[0], channels: a.channels, producer: c, shape: a.shape });
        continue;
      }
      produce(n.outputs[0], emit(n.op, ins.map((x) => x!.value), [g.unique(`${n.outputs[0]}_nchwc`)], n.attrs, n.name), a.channels);
      continue;
    }
    if ((n.op === 'MaxPool' || n.op === 'AveragePool') && n.outputs.length === 1 && ins[0] && ins[0].channels % block === 0) {
      produce(n.outputs[0], emit(n.op, [ins[0].value], [g.unique(`${n.outputs[0]}_nchwc`)], n.attrs, n.name, NCHWC), ins[0].channels);
      continue;
    }
    if ((n.op === 'GlobalAveragePool' || n.op === 'GlobalMaxPool') && ins[0]) {
      produce(n.outputs[0], emit(n.op, [ins[0].value], [g.unique(`${n.outputs[0]}_nchwc`)], {}, n.name, NCHWC), ins[0].channels);
      continue;
    }
    if (n.op === 'Concat' && n.attrs.axis === 1 && allBlocked && ins.every((b) => b!.channels % block === 0)) {
      const channels = ins.reduce((sum, b) => sum + b!.channels, 0);
      produce(n.outputs[0], emit('Concat', ins.map((b) => b!.value), [g.unique(`${n.outputs[0]}_nchwc`)], n.attrs, n.name), channels);
      continue;
    }
    n.inputs = n.inputs.map((i) => (blocked.has(i) ? plain(i) : i));
    g.nodes.push(n);
  }
  for (const o of g.outputs) if (blocked.has(o.name)) plain(o.name);
  g.prune();
}

const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh']);

function sameShapes(values: Blocked[]): boolean {
  const first = values[0].shape;
  return !!first && values.every((v) => v.channels === values[0].channels && v.shape?.length === first.length && v.shape.every((d, i) => d === first[i]));
}

/**
 * MLAS's filter layouts, output channels padded to the block with zeros: OIHWBo ([O/b, I, kh, kw, b_out], for
 * depthwise convs and convs reading an NCHW input) or OIHWBiBo ([O/b, I/b, kh, kw, b_in, b_out]). A folded weight
 * is scaled by its output channel's factor on the way, rounded to float once as model.ts's scaleInto does. Eight
 * rows are read in lockstep with their factors in locals (about 2 ns a weight, against 4-9 for a plain gather).
 * A block of output channels only moves inside its own span, so `dst` may be `src` (no padding): each block is
 * laid out in a block-sized buffer and copied back while it is still in cache.
 */
function reorderFilter(src: Float32Array, scale: Float64Array | undefined, dims: number[], block: number, outputBlocked: boolean, dst: Float32Array): void {
  const [outC, inC, kh, kw] = dims;
  const k = kh * kw;
  const perOut = inC * k;
  // Where each position of a block's row comes from in one output channel's weights, in the order written.
  const order = new Int32Array(perOut);
  if (outputBlocked) for (let p = 0; p < perOut; p++) order[p] = p;
  else {
    let p = 0;
    for (let ib = 0; ib < inC; ib += block) for (let t = 0; t < k; t++) for (let bi = 0; bi < block; bi++) order[p++] = (ib + bi) * k + t;
  }
  const factor = (o: number) => (scale ? scale[o] : 1);
  const inPlace = dst === src;
  const span = block * perOut;
  const out = inPlace ? new Float32Array(span) : dst;
  for (let o0 = 0; o0 < outC; o0 += block) {
    const base = inPlace ? 0 : o0 * perOut;
    const lanes = Math.min(block, outC - o0);
    let g = 0;
    for (; g + 8 <= lanes; g += 8) {
      const o = o0 + g;
      const [a0, a1, a2, a3, a4, a5, a6, a7] = [factor(o), factor(o + 1), factor(o + 2), factor(o + 3), factor(o + 4), factor(o + 5), factor(o + 6), factor(o + 7)];
      const r0 = o * perOut;
      const [r1, r2, r3, r4, r5, r6, r7] = [r0 + perOut, r0 + 2 * perOut, r0 + 3 * perOut, r0 + 4 * perOut, r0 + 5 * perOut, r0 + 6 * perOut, r0 + 7 * perOut];
      for (let p = 0, d = base + g; p < perOut; p++, d += block) {
        const q = order[p];
        out[d] = src[r0 + q] * a0;
        out[d + 1] = src[r1 + q] * a1;
        out[d + 2] = src[r2 + q] * a2;
        out[d + 3] = src[r3 + q] * a3;
        out[d + 4] = src[r4 + q] * a4;
        out[d + 5] = src[r5 + q] * a5;
        out[d + 6] = src[r6 + q] * a6;
        out[d + 7] = src[r7 + q] * a7;
      }
    }
    // The rows of a last, partial block (the lanes past outC stay 0).
    for (; g < lanes; g++) {
      const a = factor(o0 + g);
      const r = (o0 + g) * perOut;
      for (let p = 0, d = base + g; p < perOut; p++, d += block) out[d] = src[r + order[p]] * a;
    }
    if (inPlace) src.set(out, o0 * perOut);
  }
}
