// Caffe's DataTransformer (data_transformer.cpp) for one image: crop (random offsets in TRAIN, centred in
// TEST), mirror (random, in either phase, when transform_param.mirror is set: Caffe's InitRand draws it in TEST
// too), the mean subtracted (a mean file indexed at the pixel's uncropped, unmirrored position, or one value
// per channel), then `scale`. Labels never pass through here.
import { CaffeToolError } from '../../errors.js';
import type { Params } from '../../layers/params.js';
import { readMeanFile } from '../../runtime/preprocess.js';
import type { Rng } from '../../surgery/fillers.js';
import type { Pixels } from '../../io/image.js';
import { randInt } from './source.js';

/** The random choices for one image, drawn when its batch is planned. */
export interface Draw {
  mirror: boolean;
  /** Uniform [0, 1) numbers that become the crop offsets once the image size is known. */
  cropH: number;
  cropW: number;
}

export class Transformer {
  readonly crop: number;
  readonly mirror: boolean;
  readonly scale: number;
  readonly forceColor: boolean;
  readonly forceGray: boolean;
  private readonly meanValues: number[];
  private readonly mean?: { data: Float32Array; shape: number[] };

  constructor(t: Params, private readonly phase: 'TRAIN' | 'TEST', resolve: (path: string) => string) {
    this.crop = t.num('crop_size');
    this.mirror = t.bool('mirror');
    this.scale = t.num('scale');
    this.forceColor = t.bool('force_color');
    this.forceGray = t.bool('force_gray');
    if (this.forceColor && this.forceGray) throw new CaffeToolError('transform_param sets both force_color and force_gray: choose one');
    this.meanValues = t.list('mean_value');
    const meanFile = t.has('mean_file') ? t.str('mean_file') : '';
    if (meanFile && this.meanValues.length) throw new CaffeToolError('transform_param gives both mean_file and mean_value: Caffe refuses that, use one');
    if (meanFile) this.mean = readMeanFile(resolve(meanFile));
  }

  /** The random choices for one image, in Caffe's order (mirror first, then the crop offsets). */
  draw(rng: Rng): Draw {
    const mirror = this.mirror && rng.uniform() < 0.5;
    const random = this.crop > 0 && this.phase === 'TRAIN';
    return { mirror, cropH: random ? rng.uniform() : -1, cropW: random ? rng.uniform() : -1 };
  }

  /** [C, H, W] of the output for an image of this size. */
  outputShape(channels: number, height: number, width: number): [number, number, number] {
    if (this.crop > 0 && (height < this.crop || width < this.crop)) {
      throw new CaffeToolError(`transform_param.crop_size ${this.crop} is larger than the ${height}x${width} image`);
    }
    return this.crop > 0 ? [channels, this.crop, this.crop] : [channels, height, width];
  }

  /**
   * A batch of images that must share one size, each transformed with its draw, as [N, C, H', W'];
   * `mismatch(i, img, first)` is the error for an image whose size is not the first's.
   */
  batch(images: Pixels[], draws: Draw[], mismatch: (i: number, img: Pixels, first: Pixels) => CaffeToolError): { data: Float32Array; dims: number[] } {
    const first = images[0];
    const [c, h, w] = this.outputShape(first.channels, first.height, first.width);
    const data = new Float32Array(images.length * c * h * w);
    images.forEach((img, i) => {
      if (img.channels !== first.channels || img.height !== first.height || img.width !== first.width) throw mismatch(i, img, first);
      this.apply(img, draws[i], data, i * c * h * w);
    });
    return { data, dims: [images.length, c, h, w] };
  }

  /** Transform `img` into out[offset, offset + C*H'*W'). */
  apply(img: Pixels, draw: Draw, out: Float32Array, offset: number): void {
    const { channels: c, height, width } = img;
    const [, h, w] = this.outputShape(c, height, width);
    let hOff = 0;
    let wOff = 0;
    if (this.crop > 0) {
      if (draw.cropH >= 0) {
        hOff = randInt(draw.cropH, height - h + 1);
        wOff = randInt(draw.cropW, width - w + 1);
      } else {
        hOff = (height - h) >> 1;
        wOff = (width - w) >> 1;
      }
    }
    const [sc, sy, sx] = img.layout === 'hwc' ? [1, width * c, c] : [height * width, width, 1];
    const mean = this.meanFor(c, height, width);
    const values = this.meanValues.length === 1 ? new Array<number>(c).fill(this.meanValues[0]) : this.meanValues;
    const scale = this.scale;
    const src = img.data;
    const mirror = draw.mirror;
    // Hot loop: plain locals and one index step per pixel (a generic loop here costs 10x).
    const rgb = img.order === 'rgb' && c === 3;
    for (let ch = 0; ch < c; ch++) {
      const m = values.length ? values[ch] : 0;
      const from = rgb ? 2 - ch : ch;
      for (let y = 0; y < h; y++) {
        const row = offset + (ch * h + y) * w;
        let s = from * sc + (hOff + y) * sy + wOff * sx;
        let o = mirror ? row + w - 1 : row;
        const step = mirror ? -1 : 1;
        if (mean) {
          let k = (ch * height + hOff + y) * width + wOff;
          for (let x = 0; x < w; x++, s += sx, o += step, k++) out[o] = Math.fround(src[s] - mean[k]) * scale;
        } else {
          for (let x = 0; x < w; x++, s += sx, o += step) out[o] = Math.fround(src[s] - m) * scale;
        }
      }
    }
  }

  /** The mean_value of channel `ch` of a `channels`-channel image, 0 without mean values. */
  meanValue(ch: number, channels: number): number {
    this.checkMeanValues(channels);
    return this.meanValues.length ? this.meanValues[this.meanValues.length === 1 ? 0 : ch] : 0;
  }

  private meanFor(c: number, h: number, w: number): Float32Array | undefined {
    if (this.mean) {
      const [mc, mh, mw] = this.mean.shape;
      if (mc !== c || mh !== h || mw !== w) {
        throw new CaffeToolError(`the mean file is ${mc}x${mh}x${mw} but the image is ${c}x${h}x${w}: Caffe subtracts the mean before cropping, so they must match`);
      }
      return this.mean.data;
    }
    this.checkMeanValues(c);
    return undefined;
  }

  private checkMeanValues(c: number): void {
    if (this.meanValues.length > 1 && this.meanValues.length !== c) {
      throw new CaffeToolError(`transform_param has ${this.meanValues.length} mean_value for a ${c}-channel image: give one, or one per channel`);
    }
  }
}
