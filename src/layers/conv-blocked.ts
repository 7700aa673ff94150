// A 2-D convolution whose weights are a graph value (a training graph's fed parameters), in ONNX Runtime's
// blocked NCHWc layout: ReorderInput, the com.microsoft.nchwc Conv with the filter reordered in the graph to
// [O, I, kh, kw] as (O/b, I/b, kh, kw, b_in, b_out), ReorderOutput. ONNX Runtime does this itself only for
// constant weights; a fed 64->64 3x3 conv at 360x480, batch 4, 2 threads, ran 670 ms plain, 466 ms blocked.
import { type AttrValue, NCHWC_DOMAIN, type OnnxGraph } from '../convert/onnx/graph.js';

/**
 * Conv(x, w, ...bias) into `output`: blocked when `block` (runtime/nchwc.ts) is given and the conv is 2-D, one
 * group, with both channel counts multiples of it; else a plain Conv.
 */
export function blockedConv(
  g: OnnxGraph, name: string, x: string, w: string, bias: string[], attrs: Record<string, AttrValue>,
  cin: number, cout: number, block: number | undefined, output: string,
): string {
  const kernel = attrs.kernel_shape as number[];
  if (!block || kernel.length !== 2 || attrs.group !== 1 || cin % block !== 0 || cout % block !== 0) {
    return g.node('Conv', [x, w, ...bias], { outputs: [output], name, attrs });
  }
  const blocks = g.node('Reshape', [w, g.int64([cout / block, block, cin / block, block, ...kernel])], { name: `${name}_w_blocks` });
  const filter = g.node('Reshape', [
    g.node('Transpose', [blocks], { name: `${name}_w_order`, attrs: { perm: [0, 2, 4, 5, 3, 1] } }),
    g.int64([cout, cin, ...kernel]),
  ], { name: `${name}_w_nchwc` });
  const domain = NCHWC_DOMAIN;
  const input = g.node('ReorderInput', [x], { name: `${name}_reorder_in`, domain });
  const conv = g.node('Conv', [input, filter, ...bias], { name: `${name}_nchwc`, attrs, domain });
  return g.node('ReorderOutput', [conv], { outputs: [output], name, attrs: { channels: cout }, domain });
}
