// from-matlab --transposed-training and --bgr: a net trained through matcaffe on images that were not
// `permute([2 1 3])`-ed saw every image with height and width swapped (MATLAB's H x W x C array reaches Caffe as
// C x W x H), and read its colour channels in MATLAB's RGB order. Such a net, fed the usual Caffe way, gives
// wrong answers. This rewrites it so that the converted net on image I gives what the original gave on I with
// height and width swapped (--transposed-training) and its channels reversed (--bgr).
//
// Why it works, one layer at a time. Write A^T for a C x H x W blob with its last two axes swapped.
// - Convolution (and Deconvolution, ConvolutionDepthwise): with each filter transposed, K'[o,c,v,u] = K[o,c,u,v],
//   and the stride/pad/dilation of the two axes swapped, conv'(A^T)[o,j,i] = sum K[o,c,u,v] A[c, i*sh-ph+u,
//   j*sw-pw+v] = conv(A)[o,i,j]: the output is conv(A)^T. Pooling likewise with its kernel/stride/pad swapped.
// - Elementwise and channel-wise layers (ReLU, BatchNorm, Scale over C, Eltwise, Concat over C...) commute with ^T.
// - The first InnerProduct on a C x H x W blob flattens it: column c*H*W + h*W + w of its weights multiplies
//   A[c,h,w]. The converted net hands it A^T, C x W x H, whose element (c, a, b) = A[c, b, a] sits at column
//   c*W*H + a*H + b. So the new weight column (c, a, b) is the old column (c, b, a): read each row as a C x H x W
//   array and transpose it to C x W x H, the same per-filter transpose as a convolution. Tiny example, C=1,
//   H=2, W=3: the old columns are (h,w) = 0:(0,0) 1:(0,1) 2:(0,2) 3:(1,0) 4:(1,1) 5:(1,2); the new ones, (a,b) in
//   a 3 x 2 blob, take old columns 0 3 1 4 2 5. After it the blob is a plain vector and nothing changes.
// - Net inputs: an Input layer's (or the net's) N x C x H x W shape becomes N x C x W x H.
// --bgr: the first convolution's weights [O, C, kh, kw] get their C axis reversed (Deconvolution: axis 0).
//
// Any other layer that reads a blob with height and width (Reshape, Flatten, Crop, Interp, SPP, a Concat over
// H...) is refused, naming the layer: how it depends on the orientation is not something this can tell.
import { CaffeToolError } from '../errors.js';
import { blobData, blobShape } from '../io/blob.js';
import type { Message } from '../io/message.js';
import { canonicalAxis, count, formatShape } from '../layers/shape.js';
import type { Net, NetBlob, NetLayer } from '../net/net.js';

export interface OrientationOptions {
  /** Swap height and width everywhere (the net was trained on transposed images). */
  transposed: boolean;
  /** Reverse the colour channels the first convolutions read. */
  bgr: boolean;
}

/** What happens to the blobs of one layer. */
type BlobOp =
  | { kind: 'transpose-filters' } // weight blob 0: swap its last two axes
  | { kind: 'reorder-columns'; chw: [number, number, number]; transposed: boolean } // InnerProduct weight
  | { kind: 'reverse-channels'; axis: 0 | 1 }; // weight blob 0

export interface OrientationPlan {
  options: OrientationOptions;
  /** Per layer name, in the order to apply. */
  ops: Map<string, BlobOp[]>;
  /** What was done to which layer, for the report. */
  notes: string[];
}

const CONVS = new Set(['Convolution', 'Deconvolution', 'ConvolutionDepthwise']);

/** Layers whose output keeps the orientation of their input and that need no change to stay equivalent. */
const NEUTRAL = new Set([
  'AbsVal', 'BatchNorm', 'BN', 'BNLL', 'Clip', 'Dropout', 'ELU', 'Eltwise', 'Exp', 'Log', 'Power', 'PReLU', 'ReLU',
  'Sigmoid', 'Split', 'Swish', 'TanH', 'Threshold', 'Silence', 'LRN', 'MVN', 'Normalize',
]);

function fail(message: string, layer: string, hint?: string): never {
  throw new CaffeToolError(message, { where: { layer }, hint });
}

/** A 4-D blob whose last two axes are a real plane (H x W not 1 x 1): its orientation matters. */
function oriented(b: NetBlob): boolean {
  return b.shape !== undefined && b.shape.length === 4 && !(b.shape[2] === 1 && b.shape[3] === 1);
}

/** Whether a layer's channel-wise axis stays within (N, C): Concat/Slice/Softmax along axis 0 or 1. */
function alongChannels(net: Net, l: NetLayer, field: string, legacy?: string): boolean {
  const p = net.params(l, field);
  const axis = legacy && !p.has('axis') && p.has(legacy) ? p.num(legacy) : p.num('axis');
  return canonicalAxis(axis, 4, `${field}.axis`) <= 1;
}

/** Scale/Bias: their parameter covers axes [axis, axis + extent); it must stay off H and W (or be a full blob). */
function scaleIsChannelWise(net: Net, l: NetLayer): boolean {
  const field = l.type === 'Scale' ? 'scale_param' : 'bias_param';
  const axis = canonicalAxis(net.params(l, field).num('axis'), 4, `${field}.axis`);
  const other = l.bottoms[1];
  if (other) return axis + (other.shape?.length ?? 4) <= 2 || (axis === 0 && oriented(other));
  const extent = l.learned?.[0]?.shape.length ?? 4;
  return axis + extent <= 2;
}

/** Check the net and decide what to do with each layer's blobs. */
export function planOrientation(net: Net, options: OrientationOptions): OrientationPlan {
  const ops = new Map<string, BlobOp[]>();
  const notes: string[] = [];
  const add = (l: NetLayer, op: BlobOp) => ops.set(l.name, [...(ops.get(l.name) ?? []), op]);
  if (options.transposed) {
    // Blob versions whose height and width are (or come from) the image's.
    const tracked = new Set<NetBlob>(net.inputs().filter(oriented));
    for (const l of net.layers) {
      const inputs = l.bottoms.filter((b) => tracked.has(b));
      const mark = () => l.tops.filter(oriented).forEach((t) => tracked.add(t));
      if (!l.bottoms.length) {
        mark(); // data and Input layers
        continue;
      }
      if (!inputs.length) {
        const plane = l.bottoms.find(oriented);
        if ((CONVS.has(l.type) || l.type === 'Pooling') && plane) {
          fail(`reads '${plane.name}' (${formatShape(plane.shape!)}), whose height and width do not come from the image: swapping this layer's geometry would break it`, l.name,
            'convert without --transposed-training');
        }
        continue;
      }
      if (CONVS.has(l.type)) {
        if (l.type !== 'ConvolutionDepthwise') {
          const axis = canonicalAxis(net.params(l, 'convolution_param').num('axis'), 4, 'convolution_param.axis');
          if (axis !== 1) fail(`--transposed-training handles 2-D convolutions over axis 1, this one has axis ${axis}`, l.name);
        }
        if (l.learned?.length) {
          add(l, { kind: 'transpose-filters' });
          const k = l.learned[0].shape;
          notes.push(`${l.name}: each filter transposed, ${formatShape(k)} -> ${formatShape([k[0], k[1], k[3], k[2]])}`);
        }
        mark();
      } else if (l.type === 'Pooling') {
        mark();
      } else if (l.type === 'InnerProduct') {
        const p = net.params(l, 'inner_product_param');
        const axis = canonicalAxis(p.num('axis'), 4, 'inner_product_param.axis');
        const s = inputs[0].shape!;
        if (axis !== 1) fail(`an InnerProduct over axis ${axis} of the ${formatShape(s)} blob '${inputs[0].name}': --transposed-training only reorders one that flattens C x H x W (axis 1)`, l.name);
        if (l.learned?.length) add(l, { kind: 'reorder-columns', chw: [s[1], s[2], s[3]], transposed: p.bool('transpose') });
        notes.push(`${l.name}: weight columns reordered from C x H x W = ${s[1]}x${s[2]}x${s[3]} to C x W x H`);
      } else if (NEUTRAL.has(l.type)
        || ((l.type === 'Concat' || l.type === 'Slice') && alongChannels(net, l, l.type === 'Concat' ? 'concat_param' : 'slice_param', l.type === 'Concat' ? 'concat_dim' : 'slice_dim'))
        || (l.type === 'Softmax' && alongChannels(net, l, 'softmax_param'))
        || ((l.type === 'Scale' || l.type === 'Bias') && scaleIsChannelWise(net, l))) {
        mark();
      } else {
        fail(`${l.type} reads '${inputs[0].name}' (${formatShape(inputs[0].shape!)}), which has the image's height and width: --transposed-training cannot tell how this layer depends on their order`, l.name,
          'it handles convolutions, pooling, the first InnerProduct and element- or channel-wise layers; convert without the flag, or change the net so the layer comes after the first InnerProduct');
      }
    }
  }
  if (options.bgr) planBgr(net, add, notes);
  return { options, ops, notes };
}

/** --bgr: every convolution that reads a net input (or a data layer's top) directly gets its channels reversed. */
function planBgr(net: Net, add: (l: NetLayer, op: BlobOp) => void, notes: string[]): void {
  const isImage = (b: NetBlob) => b.shape?.length === 4 && (b.producer === -1 || !net.layers[b.producer].bottoms.length);
  const images = net.blobVersions.filter(isImage);
  const readers = images.flatMap((b) => b.consumers.map((i) => [b, net.layers[i]] as const));
  if (!readers.length) {
    throw new CaffeToolError('--bgr: the net has no 4-D input blob (N x C x H x W) whose channels could be reversed', {
      hint: 'give the input shape with --input NAME=N,C,H,W when a data layer cannot know it',
    });
  }
  for (const [b, l] of readers) {
    if (l.type !== 'Convolution' && l.type !== 'Deconvolution') {
      fail(`--bgr reverses the channels of the first convolution, but the input '${b.name}' is read by a ${l.type} layer first: its channel order would change too`, l.name,
        'convert without --bgr and swap the channels of the input itself');
    }
    const group = net.params(l, 'convolution_param').num('group');
    if (group !== 1) fail(`--bgr cannot reverse the channels of a convolution with group ${group}: whole groups would change places`, l.name);
    if (l.learned?.length) add(l, { kind: 'reverse-channels', axis: l.type === 'Deconvolution' ? 0 : 1 });
    notes.push(`${l.name}: input channels of '${b.name}' reversed (RGB <-> BGR, ${b.shape![1]} channels)`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The net definition

const swapPairs: [string, string][] = [['kernel_h', 'kernel_w'], ['stride_h', 'stride_w'], ['pad_h', 'pad_w']];

/**
 * A convolution_param/pooling_param with height and width swapped: the `_h`/`_w` fields change places (an absent
 * one stays absent, on the other side), and repeated fields with two values (kernel_size, stride, pad,
 * dilation of a convolution) are reversed. Returns the changed fields, described, or none.
 */
function swapSpatial(p: Message): { param: Message; changed: string[] } {
  const out: Message = { ...p };
  const changed: string[] = [];
  for (const [h, w] of swapPairs) {
    const [vh, vw] = [p[h], p[w]];
    if (vh === vw) continue;
    if (vw === undefined) delete out[h];
    else out[h] = vw;
    if (vh === undefined) delete out[w];
    else out[w] = vh;
    changed.push(`${h}/${w} ${String(vh ?? '-')}/${String(vw ?? '-')} -> ${String(vw ?? '-')}/${String(vh ?? '-')}`);
  }
  for (const f of ['kernel_size', 'stride', 'pad', 'dilation']) {
    const v = p[f];
    if (!Array.isArray(v) || v.length < 2) continue;
    if (v.length > 2) throw new CaffeToolError(`${f} has ${v.length} values: --transposed-training handles 2-D (two values, h and w)`);
    if (v[0] === v[1]) continue;
    out[f] = [v[1], v[0]];
    changed.push(`${f} ${v.join(',')} -> ${v[1]},${v[0]}`);
  }
  return { param: out, changed };
}

/** A BlobShape with dims 2 and 3 swapped (4-D only), or undefined when nothing changes. */
function swapShape(s: Message): Message | undefined {
  const dim = Array.from((s.dim as ArrayLike<number> | undefined) ?? []);
  if (dim.length !== 4 || dim[2] === dim[3]) return undefined;
  return { ...s, dim: [dim[0], dim[1], dim[3], dim[2]] };
}

function swapShapes(list: Message[] | undefined, what: string, changed: string[]): Message[] | undefined {
  if (!list) return undefined;
  let any = false;
  const out = list.map((s) => {
    const t = swapShape(s);
    if (!t) return s;
    any = true;
    changed.push(`${what} ${formatShape(blobShapeOf(s))} -> ${formatShape(blobShapeOf(t))}`);
    return t;
  });
  return any ? out : undefined;
}

const blobShapeOf = (s: Message) => Array.from((s.dim as ArrayLike<number> | undefined) ?? [], Number);

/** One layer's definition with height and width swapped, and what changed. */
function swapLayerDef(layer: Message): { layer: Message; changed: string[] } {
  const type = layer.type as string | undefined;
  const changed: string[] = [];
  let out = layer;
  const setParam = (field: string, value: Message) => {
    out = { ...out, [field]: value };
  };
  if (type && CONVS.has(type) && layer.convolution_param) {
    const r = swapSpatial(layer.convolution_param as Message);
    if (r.changed.length) setParam('convolution_param', r.param);
    changed.push(...r.changed);
  } else if (type === 'Pooling' && layer.pooling_param) {
    const r = swapSpatial(layer.pooling_param as Message);
    if (r.changed.length) setParam('pooling_param', r.param);
    changed.push(...r.changed);
  } else if (type === 'Input' && layer.input_param) {
    const p = layer.input_param as Message;
    const shapes = swapShapes(p.shape as Message[] | undefined, 'input shape', changed);
    if (shapes) setParam('input_param', { ...p, shape: shapes });
  } else if (type === 'DummyData' && layer.dummy_data_param) {
    const p = { ...(layer.dummy_data_param as Message) };
    const shapes = swapShapes(p.shape as Message[] | undefined, 'shape', changed);
    if (shapes) p.shape = shapes;
    const [h, w] = [p.height, p.width];
    if (h !== undefined || w !== undefined) {
      if (JSON.stringify(h) !== JSON.stringify(w)) changed.push(`height/width ${JSON.stringify(h ?? [])}/${JSON.stringify(w ?? [])} swapped`);
      if (w === undefined) delete p.height;
      else p.height = w;
      if (h === undefined) delete p.width;
      else p.width = h;
    }
    if (changed.length) setParam('dummy_data_param', p);
  } else if (type === 'MemoryData' && layer.memory_data_param) {
    const p = layer.memory_data_param as Message;
    if (p.height !== p.width) {
      changed.push(`height/width ${String(p.height ?? '-')}/${String(p.width ?? '-')} -> ${String(p.width ?? '-')}/${String(p.height ?? '-')}`);
      const q: Message = { ...p };
      if (p.width === undefined) delete q.height;
      else q.height = p.width;
      if (p.height === undefined) delete q.width;
      else q.width = p.height;
      setParam('memory_data_param', q);
    }
  }
  return { layer: out, changed };
}

/**
 * A NetParameter (a definition, or a caffemodel's) with height and width swapped in every layer of every phase:
 * convolution and pooling geometry, Input/DummyData/MemoryData shapes and the net-level input shapes.
 * `changes` says what, one line each ("conv1: kernel_h/kernel_w 3/2 -> 2/3"); empty when the net is square.
 */
export function swapDefinition(param: Message): { message: Message; changes: string[] } {
  const changes: string[] = [];
  const layers = ((param.layer as Message[] | undefined) ?? []).map((l) => {
    let r;
    try {
      r = swapLayerDef(l);
    } catch (e) {
      throw e instanceof CaffeToolError ? e.within({ layer: l.name as string }) : e;
    }
    changes.push(...r.changed.map((c) => `${String(l.name)}: ${c}`));
    return r.layer;
  });
  let message: Message = { ...param, layer: layers };
  const shapes = swapShapes(param.input_shape as Message[] | undefined, 'net input_shape', changes);
  if (shapes) message = { ...message, input_shape: shapes };
  const dims = Array.from((param.input_dim as ArrayLike<number> | undefined) ?? [], Number);
  if (dims.length && dims.length % 4 === 0) {
    const swapped = dims.map((_, i) => dims[i % 4 === 2 ? i + 1 : i % 4 === 3 ? i - 1 : i]);
    if (swapped.some((v, i) => v !== dims[i])) {
      changes.push(`net input_dim ${dims.join(',')} -> ${swapped.join(',')}`);
      message = { ...message, input_dim: swapped };
    }
  }
  return { message, changes };
}

// ---------------------------------------------------------------------------------------------------------
// The blobs

/** Swap the last two axes of a row-major array of shape [...outer, a, b]: out[..., j, i] = src[..., i, j]. */
export function transposeLastTwo(src: Float32Array, outer: number, a: number, b: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let o = 0; o < outer; o++) {
    const base = o * a * b;
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out[base + j * a + i] = src[base + i * b + j];
  }
  return out;
}

/** Reverse axis `axis` of a row-major array of `shape`. */
export function reverseAxis(src: Float32Array, shape: readonly number[], axis: number): Float32Array {
  const outer = count(shape, 0, axis);
  const n = shape[axis];
  const inner = count(shape, axis + 1);
  const out = new Float32Array(src.length);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) out.set(src.subarray((o * n + k) * inner, (o * n + k + 1) * inner), (o * n + n - 1 - k) * inner);
  }
  return out;
}

function applyOp(blob: Message, op: BlobOp, layer: string): Message {
  const shape = blobShape(blob);
  const data = blobData(blob);
  if (op.kind === 'transpose-filters') {
    if (shape.length !== 4) fail(`its weight is ${formatShape(shape)}, not a 4-D [O, I, kh, kw] filter bank`, layer);
    const [o, i, kh, kw] = shape;
    return { shape: { dim: [o, i, kw, kh] }, data: transposeLastTwo(data, o * i, kh, kw) };
  }
  if (op.kind === 'reverse-channels') {
    if (shape.length !== 4) fail(`its weight is ${formatShape(shape)}, not a 4-D filter bank`, layer);
    return { shape: { dim: shape }, data: reverseAxis(data, shape, op.axis) };
  }
  const [c, h, w] = op.chw;
  const k = c * h * w;
  const [rows, cols] = op.transposed ? [k, shape[1]] : [shape[0], k];
  if (shape.length !== 2 || shape[0] !== rows || shape[1] !== cols) {
    fail(`its weight is ${formatShape(shape)}, the ${c}x${h}x${w} input needs ${op.transposed ? `${k}x${cols}` : `${rows}x${k}`}`, layer);
  }
  if (!op.transposed) {
    // Each row, read as C x H x W, becomes C x W x H.
    return { shape: { dim: shape }, data: transposeLastTwo(data, rows * c, h, w) };
  }
  // transpose: true keeps the weight as [K, N]: rows (c, h, w) of N values each move to (c, w, h).
  const n = cols;
  const out = new Float32Array(data.length);
  for (let ci = 0; ci < c; ci++) {
    for (let hi = 0; hi < h; hi++) {
      for (let wi = 0; wi < w; wi++) {
        const from = ((ci * h + hi) * w + wi) * n;
        out.set(data.subarray(from, from + n), ((ci * w + wi) * h + hi) * n);
      }
    }
  }
  return { shape: { dim: shape }, data: out };
}

/**
 * The weights (a NetParameter with blobs: a caffemodel) rewritten by the plan: every layer with the name of a
 * planned layer (in any phase) gets its blobs changed; with --transposed-training the layer definitions inside
 * are swapped too, as swapDefinition does.
 */
export function applyOrientation(weights: Message, plan: OrientationPlan): Message {
  const base = plan.options.transposed ? swapDefinition(weights).message : weights;
  const layers = ((base.layer as Message[] | undefined) ?? []).map((l) => {
    const ops = plan.ops.get(l.name as string);
    const blobs = l.blobs as Message[] | undefined;
    if (!ops || !blobs?.length) return l;
    let first = blobs[0];
    for (const op of ops) first = applyOp(first, op, l.name as string);
    return { ...l, blobs: [first, ...blobs.slice(1)] };
  });
  return { ...base, layer: layers };
}
