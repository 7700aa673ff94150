// Caffe's weight fillers (include/caffe/filler.hpp), for layers whose blobs must be made afresh: constant,
// uniform, gaussian (with `sparse`), xavier and msra (variance_norm FAN_IN, FAN_OUT or AVERAGE), positive_unitball,
// bilinear. fan_in = count / num and fan_out = count / channels, with Caffe's legacy num (axis 0) and channels
// (axis 1, or 1 for a 1-axis blob). Random numbers come from a seeded generator, so a run can be repeated (the
// same distributions as Caffe's, not its Mersenne Twister stream). fillerFor says which filler each layer type
// uses for each of its blobs, with the defaults its LayerSetUp applies.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { BlobSpec, Shape } from '../layers/types.js';

/** A seeded source of uniform [0, 1) numbers (mulberry32) and normal ones (Box-Muller). */
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed = 1) {
    this.state = seed >>> 0;
  }

  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** The `n` of xavier/msra for a blob shape and variance_norm, as filler.hpp computes it. */
export function fillerFan(shape: Shape, varianceNorm: string = 'FAN_IN'): number {
  const count = shape.reduce((a, b) => a * b, 1);
  const num = shape.length >= 1 ? shape[0] : 1;
  const channels = shape.length >= 2 ? shape[1] : 1;
  const fanIn = count / num;
  const fanOut = count / channels;
  if (varianceNorm === 'AVERAGE') return (fanIn + fanOut) / 2;
  if (varianceNorm === 'FAN_OUT') return fanOut;
  return fanIn;
}

/** Fill a new blob of `shape` as Caffe's filler `param` (a FillerParameter message; absent fields take defaults). */
export function fill(shape: Shape, param: Message | undefined, rng: Rng): Float32Array {
  const p = param ?? {};
  const type = (p.type as string | undefined) ?? 'constant';
  const num = (k: string, d: number) => (p[k] === undefined ? d : Number(p[k]));
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const sparse = num('sparse', -1);
  if (sparse !== -1 && type !== 'gaussian') throw new CaffeToolError(`filler ${type}: sparse is only supported by the gaussian filler`);
  switch (type) {
    case 'constant':
      out.fill(num('value', 0));
      break;
    case 'uniform': {
      const [lo, hi] = [num('min', 0), num('max', 1)];
      if (lo > hi) throw new CaffeToolError(`filler uniform: min ${lo} is above max ${hi} (Caffe's caffe_rng_uniform refuses it)`);
      for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * rng.uniform();
      break;
    }
    case 'gaussian': {
      const [mean, std] = [num('mean', 0), num('std', 1)];
      if (!(std > 0)) throw new CaffeToolError(`filler gaussian: std ${std} must be above 0 (Caffe's caffe_rng_gaussian refuses it)`, { hint: 'a constant filler gives one value everywhere' });
      for (let i = 0; i < count; i++) out[i] = mean + std * rng.normal();
      if (sparse < -1) throw new CaffeToolError(`filler gaussian: sparse ${sparse} must be -1 or more`);
      if (sparse > shape[0]) throw new CaffeToolError(`filler gaussian: sparse ${sparse} is more than the ${shape[0]} outputs (Caffe's Bernoulli probability sparse / outputs would pass 1)`);
      if (sparse >= 0) {
        const keep = sparse / shape[0];
        for (let i = 0; i < count; i++) if (!(rng.uniform() < keep)) out[i] = 0;
      }
      break;
    }
    case 'xavier': {
      const scale = Math.sqrt(3 / fillerFan(shape, p.variance_norm as string | undefined));
      for (let i = 0; i < count; i++) out[i] = -scale + 2 * scale * rng.uniform();
      break;
    }
    case 'msra': {
      const std = Math.sqrt(2 / fillerFan(shape, p.variance_norm as string | undefined));
      for (let i = 0; i < count; i++) out[i] = std * rng.normal();
      break;
    }
    case 'positive_unitball': {
      const rows = shape[0];
      const dim = count / rows;
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let j = 0; j < dim; j++) sum += (out[r * dim + j] = rng.uniform());
        for (let j = 0; j < dim; j++) out[r * dim + j] /= sum;
      }
      break;
    }
    case 'bilinear': {
      // Upsampling kernels for Deconvolution: K x K, the same for every (output, input) pair. BVLC master's centre
      // (K - 1) / 2f; older copies of filler.hpp had (2f - 1 - f % 2) / 2f, which differs for K = 3, 7, 11...
      if (shape.length !== 4) throw new CaffeToolError(`filler bilinear: the blob must have 4 axes, it is ${shape.join(' x ')}`);
      const [h, w] = [shape[2], shape[3]];
      if (h !== w) throw new CaffeToolError(`filler bilinear: the filter must be square, it is ${h} x ${w}`);
      const f = Math.ceil(w / 2);
      const c = (w - 1) / (2 * f);
      for (let i = 0; i < count; i++) {
        const x = i % w;
        const y = Math.floor(i / w) % h;
        out[i] = (1 - Math.abs(x / f - c)) * (1 - Math.abs(y / f - c));
      }
      break;
    }
    default:
      throw new CaffeToolError(`filler type '${type}' is not supported here`, { hint: 'use constant, uniform, gaussian, xavier, msra, positive_unitball or bilinear' });
  }
  return out;
}

const constant = (value: number): Message => ({ type: 'constant', value });

/**
 * The FillerParameter Caffe uses for a layer's i-th blob when it sets the layer up, with the layer's own defaults
 * (a missing FillerParameter is constant 0: Convolution and InnerProduct weights included).
 */
export function fillerFor(layer: Message, type: string, spec: BlobSpec, i: number): Message | undefined {
  const sub = (f: string) => (layer[f] as Message | undefined) ?? {};
  const filler = (f: string, name: string) => sub(f)[name] as Message | undefined;
  switch (type) {
    case 'Convolution': case 'Deconvolution': case 'ConvolutionDepthwise':
      return filler('convolution_param', i === 0 ? 'weight_filler' : 'bias_filler');
    case 'InnerProduct':
      return filler('inner_product_param', i === 0 ? 'weight_filler' : 'bias_filler');
    case 'Embed':
      return filler('embed_param', i === 0 ? 'weight_filler' : 'bias_filler');
    case 'LSTM': case 'RNN':
      // The unrolled net's InnerProducts: W_* from weight_filler, b_* from bias_filler.
      return filler('recurrent_param', spec.role.startsWith('W') ? 'weight_filler' : 'bias_filler');
    case 'BatchNorm':
      // mean, variance, scale factor are zero; NVCaffe's scale and bias blobs have their own fillers.
      if (spec.role === 'scale') return filler('batch_norm_param', 'scale_filler') ?? constant(1);
      if (spec.role === 'bias') return filler('batch_norm_param', 'bias_filler') ?? constant(0);
      return constant(0);
    case 'BN':
      // SegNet/ENet: scale_filler, shift_filler. PSPNet: slope_filler, bias_filler, then the statistics: mean 0,
      // variance 1 when frozen, else 0.
      if (spec.role === 'mean') return constant(0);
      if (spec.role === 'variance') return constant(sub('bn_param').frozen === true ? 1 : 0);
      if ('slope_filler' in sub('bn_param') || 'bias_filler' in sub('bn_param')) return filler('bn_param', i === 0 ? 'slope_filler' : 'bias_filler');
      return filler('bn_param', i === 0 ? 'scale_filler' : 'shift_filler');
    case 'Scale':
      return spec.role === 'scale' ? (filler('scale_param', 'filler') ?? constant(1)) : filler('scale_param', 'bias_filler');
    case 'Bias':
      return filler('bias_param', 'filler');
    case 'PReLU':
      return filler('prelu_param', 'filler') ?? constant(0.25);
    case 'Normalize':
      return filler('norm_param', 'scale_filler') ?? constant(1);
    case 'Parameter':
      return constant(0);
    default:
      throw new CaffeToolError(`cannot make the ${spec.role} blob of ${type} layer '${layer.name as string}' afresh: caffe-tool does not know this layer's filler`, {
        where: { layer: layer.name as string }, hint: 'give its weights (--weights)',
      });
  }
}
