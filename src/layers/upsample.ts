// Upsample. With two bottoms, SegNet/ENet max-unpooling: (data, argmax mask from a MAX Pooling) of the same
// 4-D shape, output upsample_h x upsample_w, or H*scale_h - pad_out_h by W*scale_w - pad_out_w. With one
// bottom, the nearest-neighbour Upsample of YOLO-style ports: the last two axes times `scale`.
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import { forkParam } from './fork-param.js';
import { maxUnpool } from './pooling.js';
import type { Params } from './params.js';
import { formatShape } from './shape.js';
import type { LayerDef, OnnxContext, Shape } from './types.js';

/** SegNet's UpsampleLayer: LayerSetUp's parameter checks, then Reshape's shape checks and size rule. */
function unpoolShape(p: Params, data: Shape, mask: Shape): Shape {
  const explicit = p.has('upsample_h') && p.has('upsample_w');
  const scaleHW = p.has('scale_h') || p.has('scale_w');
  if (!explicit && scaleHW && (p.has('scale') || !(p.has('scale_h') && p.has('scale_w')))) {
    throw new CaffeToolError('upsample_param needs upsample_h and upsample_w, or else (deprecated) either scale or both scale_h and scale_w');
  }
  let size: (h: number, w: number) => [number, number];
  if (explicit) {
    const [uh, uw] = [p.num('upsample_h'), p.num('upsample_w')];
    if (uh <= 1 || uw <= 1) throw new CaffeToolError(`upsample_h and upsample_w must be greater than 1, got ${uh} and ${uw}`);
    size = () => [uh, uw];
  } else {
    const [sh, sw] = p.has('scale_h') ? [p.num('scale_h'), p.num('scale_w')] : [p.num('scale'), p.num('scale')];
    if (sh <= 1 || sw <= 1) throw new CaffeToolError(`the upsampling scale must be greater than 1, got ${sh === sw ? sh : `${sh} x ${sw}`}`);
    const [padH, padW] = [p.bool('pad_out_h'), p.bool('pad_out_w')];
    if (padH && sh !== 2) throw new CaffeToolError(`pad_out_h needs scale_h 2 (got ${sh}): otherwise the output height is ill-defined`);
    if (padW && sw !== 2) throw new CaffeToolError(`pad_out_w needs scale_w 2 (got ${sw}): otherwise the output width is ill-defined`);
    size = (h, w) => [h * sh - Number(padH), w * sw - Number(padW)];
  }
  if (data.length !== 4) throw new CaffeToolError(`the data input must be 4-D (N, C, H, W), got ${formatShape(data)}`);
  if (mask.length !== 4) throw new CaffeToolError(`the pooling mask input must be 4-D (N, C, H, W), got ${formatShape(mask)}`);
  if (formatShape(data) !== formatShape(mask)) {
    throw new CaffeToolError(`the pooling mask (bottom 1, ${formatShape(mask)}) must have the shape of the data (bottom 0, ${formatShape(data)})`);
  }
  return [data[0], data[1], ...size(data[2], data[3])];
}

export const upsample: LayerDef = {
  type: 'Upsample',
  param: 'upsample_param',
  bottoms: [1, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = forkParam(ctx, 'upsample_param', ['segnet', 'enet']);
    if (ctx.inputs.length === 2) return [unpoolShape(p, ctx.inputs[0], ctx.inputs[1])];
    const input = ctx.inputs[0];
    if (input.length < 2) throw new CaffeToolError(`a one-bottom (nearest-neighbour) Upsample scales the last two axes; the input is ${input.length}-D`);
    const scale = p.num('scale');
    if (scale < 1) throw new CaffeToolError(`upsample_param.scale must be at least 1, got ${scale}`);
    return [[...input.slice(0, -2), ...input.slice(-2).map((d) => d * scale)]];
  },
  toOnnx(ctx) {
    if (ctx.inputs.length === 2) {
      unpoolToOnnx(ctx);
      return;
    }
    // Nearest neighbour: out[..., h, w] = in[..., floor(h / s), floor(w / s)].
    const scale = forkParam(ctx, 'upsample_param', ['segnet', 'enet']).num('scale');
    const scales = ctx.g.float32(ctx.inputs[0].map((_, i) => (i < ctx.inputs[0].length - 2 ? 1 : scale)));
    ctx.g.node('Resize', [ctx.x[0], '', scales], {
      outputs: ctx.y,
      name: ctx.name,
      attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
    });
  },
  gradient(ctx) {
    const input = ctx.inputs[0];
    const dy = ctx.dy[0]!;
    if (ctx.inputs.length === 2) {
      // SegNet's Backward_cpu: bottom_diff[i] = top_diff[mask[i]] for every i, a gather (where two indices coincide
      // each gets the gradient, although only the later one reached the top: Caffe's rule). The mask gets none.
      const [, , oh, ow] = ctx.outputs[0];
      // The pooling's own indices are flat over the whole of dy: less each plane's offset they are the mask's
      // plane-local ones (a GatherElements over N x C rows runs on every thread; over one flat row, on one).
      const flat = poolIndices(ctx);
      const [n, c] = input;
      const index = flat
        ? ctx.g.node('Sub', [
          ctx.g.node('Reshape', [flat, ctx.g.int64([n, c, -1])], { name: `${ctx.name}_index_planes` }),
          planeOffsets(ctx),
        ], { name: `${ctx.name}_local_indices` })
        : ctx.saved('indices');
      const planes = ctx.g.node('Reshape', [dy, ctx.g.int64([n, c, oh * ow])], { name: `${ctx.name}_dy_planes` });
      const gathered = ctx.g.node('GatherElements', [planes, index], { name: `${ctx.name}_dx_planes`, attrs: { axis: 2 } });
      const dx = ctx.g.node('Reshape', [gathered, ctx.g.int64(input)], { name: `${ctx.name}_dx` });
      const mask = ctx.needDx[1] ? zeros(ctx, ctx.inputs[1]) : undefined;
      return { dx: [dx, mask] };
    }
    // Nearest neighbour: every input value feeds a scale x scale block, whose gradients add up.
    const scale = forkParam(ctx, 'upsample_param', ['segnet', 'enet']).num('scale');
    const [h, w] = input.slice(-2);
    const blocks = ctx.g.node('Reshape', [dy, ctx.g.int64([...input.slice(0, -2), h, scale, w, scale])], { name: `${ctx.name}_dy_blocks` });
    const r = input.length;
    return { dx: [ctx.g.node('ReduceSum', [blocks, ctx.g.int64([r - 1, r + 1])], { name: `${ctx.name}_dx`, attrs: { keepdims: 0 } })] };
  },
};

/**
 * SegNet's max-unpooling: a zero top, then top[n, c, mask[i]] = x[n, c, i] for every i of each plane, in order
 * (where two indices coincide, which a mask from overlapping windows can hold, the later one wins, as in Caffe's
 * loop; ONNX Runtime's MaxUnpool and ScatterElements write in the same order on the CPU; on a GPU neither the
 * CUDA provider's scatter nor SegNet's own GPU kernel fixes the order). The mask holds plane-local indices
 * h * W + w as floats, which is what the paired MAX Pooling exports. An index past the output plane fails in both
 * Caffe and ONNX Runtime.
 */
function unpoolToOnnx(ctx: OnnxContext): void {
  const [n, c] = ctx.inputs[0];
  const [, , oh, ow] = ctx.outputs[0];
  const flat = poolIndices(ctx);
  // A training graph for the CUDA provider scatters instead (see maxUnpool).
  const cpu = ctx.cpu !== false;
  const unitWindow = { kernel_shape: [1, 1], strides: [1, 1] };
  if (flat) {
    maxUnpool(ctx.g, ctx.name, ctx.x[0], flat, ctx.outputs[0], unitWindow, cpu, ctx.y[0]);
    return;
  }
  const planes = ctx.g.int64([0, 0, -1]);
  const mask = ctx.g.node('Cast', [ctx.x[1]], { attrs: { to: 7 }, name: `${ctx.name}_indices` });
  const indices = ctx.g.node('Reshape', [mask, planes], { name: `${ctx.name}_index_planes` });
  ctx.train?.save('indices', indices);
  if (!ctx.dynamicBatch) {
    // With the batch known, MaxUnpool does it in one pass (ScatterElements copies a zero tensor first): the indices
    // made flat over N*C*OH*OW by each plane's offset; kernel and stride 1 make the inferred shape the input's,
    // never more than the output shape given.
    const placed = ctx.g.node('Reshape', [ctx.g.node('Add', [indices, planeOffsets(ctx)], { name: `${ctx.name}_flat` }), ctx.g.int64(ctx.inputs[0])], { name: `${ctx.name}_flat_shape` });
    maxUnpool(ctx.g, ctx.name, ctx.x[0], placed, [n, c, oh, ow], unitWindow, cpu, ctx.y[0]);
    return;
  }
  // A dynamic batch: ScatterElements into zeros of the runtime [N, C, OH*OW].
  const nc = ctx.g.opset >= 15
    ? ctx.g.node('Shape', [ctx.x[0]], { attrs: { start: 0, end: 2 }, name: `${ctx.name}_nc` })
    : ctx.g.node('Slice', [ctx.g.node('Shape', [ctx.x[0]], { name: `${ctx.name}_shape` }), ctx.g.int64([0]), ctx.g.int64([2])], { name: `${ctx.name}_nc` });
  const shape = ctx.g.node('Concat', [nc, ctx.g.int64([oh * ow])], { attrs: { axis: 0 }, name: `${ctx.name}_zeros_shape` });
  const empty = ctx.g.node('ConstantOfShape', [shape], { name: `${ctx.name}_zeros` });
  const data = ctx.g.node('Reshape', [ctx.x[0], planes], { name: `${ctx.name}_planes` });
  const scattered = ctx.g.node('ScatterElements', [empty, indices, data], { attrs: { axis: 2 }, name: ctx.name });
  ctx.g.node('Reshape', [scattered, ctx.g.int64([0, 0, oh, ow])], { outputs: ctx.y, name: `${ctx.name}_reshape` });
}

/**
 * The paired MAX Pooling's own flat indices, where they say the same as the mask: the unpooled plane is the
 * pooling's input plane, so h * W + w plus the plane's offset is the flat index MaxPool gave (a known batch only;
 * then the Mod, the two Casts and the Add between them are not needed). Otherwise undefined.
 */
function poolIndices(ctx: OnnxContext): string | undefined {
  const known = ctx.g.flatIndices.get(ctx.x[1]);
  if (!known || ctx.dynamicBatch || known.shape.join(',') !== ctx.outputs[0].join(',')) return undefined;
  return known.indices;
}

/** Where each output plane starts in the flattened top: p * OH * OW for plane p of [N, C], as int64 [N, C, 1]. */
function planeOffsets(ctx: OnnxContext): string {
  const [n, c, oh, ow] = ctx.outputs[0];
  return ctx.g.initializer(`${ctx.name}_plane_offsets`, BigInt64Array.from({ length: n * c }, (_, i) => BigInt(i * oh * ow)), [n, c, 1]);
}
