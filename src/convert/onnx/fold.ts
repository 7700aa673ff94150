// Fold per-channel affine steps into the Conv before them, as PyTorch's exporter does: BatchNormalization
// (Caffe's BatchNorm) and a per-channel Mul/Add (Caffe's Scale/Bias) after a Conv whose output nothing else
// reads. ONNX Runtime would fold them too, but at every session start, rewriting all the weights twice; done
// once here, in float64, the model loads 2-3x faster. Results equal the unfolded graph to float rounding.
// The folded weights are not computed here: encodeModel writes them straight into the model's bytes from the
// returned scales, which spares a copy of every convolution weight.
import type { OnnxGraph, OnnxNode, OnnxTensor } from './graph.js';
import type { ScaledWeight } from './model.js';

/** Folds in place; returns the folded weights by initializer name, to give to encodeModel. */
export function foldConvAffine(g: OnnxGraph): Map<string, ScaledWeight> {
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const init = new Map(g.initializers.map((t) => [t.name, t]));
  const removed = new Set<OnnxNode>();
  const scaled = new Map<string, ScaledWeight>();
  for (const conv of g.nodes) {
    if (conv.op !== 'Conv' || conv.outputs.length !== 1) continue;
    const w = init.get(conv.inputs[1]);
    const b = conv.inputs[2] !== undefined ? init.get(conv.inputs[2]) : undefined;
    if (!(w?.data instanceof Float32Array) || (conv.inputs[2] !== undefined && !(b?.data instanceof Float32Array))) continue;
    const channels = w.dims[0];
    // Compose the chain of per-channel steps after the conv: y = scale * conv + shift.
    const scale = new Float64Array(channels).fill(1);
    const shift = new Float64Array(channels);
    let out = conv.outputs[0];
    const chain: OnnxNode[] = [];
    for (;;) {
      const next = consumers.get(out) ?? [];
      if (next.length !== 1 || outputs.has(out)) break;
      const step = channelAffine(next[0], out, init, channels, w.dims.length - 2);
      if (!step) break;
      for (let o = 0; o < channels; o++) {
        scale[o] *= step.scale[o];
        shift[o] = step.scale[o] * shift[o] + step.shift[o];
      }
      chain.push(next[0]);
      out = next[0].outputs[0];
    }
    if (!chain.length) continue;
    const bias = new Float32Array(channels);
    for (let o = 0; o < channels; o++) bias[o] = (b ? (b.data as Float32Array)[o] : 0) * scale[o] + shift[o];
    // The tensor holds the unscaled weight until encodeModel writes it scaled.
    const weight = g.initializer(`${conv.name}_W_folded`, w.data, w.dims);
    scaled.set(weight, { source: w.data, scale });
    conv.inputs = [conv.inputs[0], weight, g.initializer(`${conv.name}_b_folded`, bias, [channels])];
    conv.outputs = [out];
    for (const n of chain) removed.add(n);
  }
  if (removed.size) {
    const kept = g.nodes.filter((n) => !removed.has(n));
    g.nodes.splice(0, g.nodes.length, ...kept);
    g.prune();
  }
  return scaled;
}

/** y = scale[c] * x + shift[c] for the node reading `x`, if it is that kind of per-channel step; float64. */
function channelAffine(node: OnnxNode, x: string, init: Map<string, OnnxTensor>, c: number, spatialRank: number): { scale: Float64Array; shift: Float64Array } | undefined {
  const floats = (name: string | undefined) => {
    const t = name === undefined ? undefined : init.get(name);
    return t && t.data instanceof Float32Array ? t : undefined;
  };
  // Against a 2-D convolution's N x C x H x W output, [C, 1, 1] and [1, C, 1, 1] act per channel; one value on all.
  const perChannel = (t: OnnxTensor | undefined): Float32Array | undefined => {
    if (!t || !(t.data instanceof Float32Array) || spatialRank !== 2) return undefined;
    const n = t.dims.length;
    if (t.data.length === 1 && t.dims.every((d) => d === 1)) return new Float32Array(c).fill(t.data[0]);
    if (n >= 3 && n <= 4 && t.dims[n - 3] === c && t.dims.every((d, i) => i === n - 3 || d === 1)) return t.data;
    return undefined;
  };
  if (node.op === 'BatchNormalization' && node.inputs[0] === x && node.outputs.length === 1) {
    const [s, b, m, v] = node.inputs.slice(1).map(floats);
    if (!s || !b || !m || !v || [s, b, m, v].some((t) => t.data.length !== c)) return undefined;
    const eps = (node.attrs.epsilon as { float: number } | undefined)?.float ?? 1e-5;
    const scale = new Float64Array(c);
    const shift = new Float64Array(c);
    for (let o = 0; o < c; o++) {
      const a = (s.data as Float32Array)[o] / Math.sqrt((v.data as Float32Array)[o] + Math.fround(eps));
      scale[o] = a;
      shift[o] = (b.data as Float32Array)[o] - a * (m.data as Float32Array)[o];
    }
    return { scale, shift };
  }
  if ((node.op === 'Mul' || node.op === 'Add') && node.inputs.length === 2 && node.inputs.includes(x)) {
    const other = perChannel(floats(node.inputs[node.inputs[0] === x ? 1 : 0]));
    if (!other) return undefined;
    const scale = new Float64Array(c).fill(1);
    const shift = new Float64Array(c);
    for (let o = 0; o < c; o++) (node.op === 'Mul' ? scale : shift)[o] = other[o];
    return { scale, shift };
  }
  return undefined;
}
