// Caffe's weight fillers (include/caffe/filler.hpp), for layers whose blobs must be made afresh: constant,
// uniform, gaussian (with `sparse`), xavier and msra (variance_norm FAN_IN, FAN_OUT or AVERAGE), positive_unitball.
// fan_in = count / num and fan_out = count / channels, with Caffe's legacy num (axis 0) and channels (axis 1, or
// 1 for a 1-axis blob). Random numbers come from a seeded generator, so a run can be repeated.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import type { Shape } from '../layers/types.js';

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
      for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * rng.uniform();
      break;
    }
    case 'gaussian': {
      const [mean, std] = [num('mean', 0), num('std', 1)];
      for (let i = 0; i < count; i++) out[i] = mean + std * rng.normal();
      if (sparse < -1) throw new CaffeToolError(`filler gaussian: sparse ${sparse} must be -1 or more`);
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
    default:
      throw new CaffeToolError(`filler type '${type}' is not supported here`, { hint: 'use constant, uniform, gaussian, xavier, msra or positive_unitball' });
  }
  return out;
}
