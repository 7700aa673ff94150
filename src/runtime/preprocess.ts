// Caffe's input preprocessing: an image (decoded and resized as OpenCV does) to the tensor a Caffe net was trained
// on: BGR channel order, resized, center-cropped, the mean subtracted first, then `scale`.
import { CaffeToolError } from '../errors.js';
import { blobData, blobShape } from '../io/blob.js';
import { readCaffeFile } from '../io/files.js';
import type { Message } from '../io/message.js';
import { decodeImage, resizeLinear } from '../io/image.js';

export interface Preprocess {
  /** Per-channel mean values (in the net's channel order), or a whole mean image [C, H, W]. */
  meanValues?: number[];
  meanImage?: { data: Float32Array; shape: number[] };
  /** Multiplies the value after the mean is subtracted (transform_param.scale). */
  scale: number;
  /** Caffe models are trained on OpenCV's BGR order. */
  channelOrder: 'bgr' | 'rgb';
  /** Resize the image to this [H, W] first, then center-crop to the net's input (transform_param.crop_size). */
  resize?: [number, number];
}

/** The transform_param of the net's first data layer in its TEST phase, as a starting point. */
export function preprocessFromNet(param: Message, baseDir = '.'): Preprocess {
  const layers = (param.layer as Message[] | undefined) ?? [];
  const data = layers.find((l) => l.transform_param !== undefined && !((l.include as Message[] | undefined) ?? []).some((r) => r.phase === 'TRAIN'));
  const t = (data?.transform_param as Message | undefined) ?? {};
  const pre: Preprocess = { scale: (t.scale as number | undefined) ?? 1, channelOrder: 'bgr' };
  // An ImageData layer's new_height/new_width: the size its images were resized to before the crop.
  const image = data?.image_data_param as Message | undefined;
  const [nh, nw] = [Number(image?.new_height ?? 0), Number(image?.new_width ?? 0)];
  if (nh > 0 && nw > 0) pre.resize = [nh, nw];
  const values = t.mean_value as ArrayLike<number> | undefined;
  if (values && values.length) pre.meanValues = Array.from(values);
  if (typeof t.mean_file === 'string' && t.mean_file) {
    const path = t.mean_file.startsWith('/') ? t.mean_file : `${baseDir}/${t.mean_file}`;
    try {
      pre.meanImage = readMeanFile(path);
    } catch {
      // The mean file of a training setup is often not shipped with the model: --mean-file gives it.
    }
  }
  return pre;
}

/** A .binaryproto mean file as a [C, H, W] image. */
export function readMeanFile(path: string): { data: Float32Array; shape: number[] } {
  const file = readCaffeFile(path, { kinds: ['blob'] });
  const shape = blobShape(file.message);
  const chw = shape.length === 4 ? shape.slice(1) : shape;
  if (chw.length !== 3) throw new CaffeToolError(`${path}: a mean file holds one C x H x W image, this one is ${shape.join('x')}`);
  return { data: blobData(file.message), shape: chw };
}

/**
 * Decode an image (a file, or its bytes as they came) and make it the [C, H, W] float tensor the net expects, as
 * Caffe's TEST phase makes it from ReadImageToCVMat's pixels: decoded and resized exactly as OpenCV does
 * (io/image.ts), center-cropped, the mean subtracted and then scaled, in float as Caffe rounds them.
 * Without --resize the image is resized to the mean image when that is larger than the input (Caffe's ImageNet
 * models read 256x256 images and crop 227 of image and mean), else to the input itself.
 */
export async function imageToTensor(path: string | Uint8Array, shape: [number, number, number], pre: Preprocess): Promise<Float32Array> {
  const [c, h, w] = shape;
  if (c !== 1 && c !== 3) throw new CaffeToolError(`the net's input has ${c} channels: images give 1 (gray) or 3 (color)`);
  const mean = pre.meanImage?.shape;
  const [rh, rw] = pre.resize ?? (mean && mean[1] >= h && mean[2] >= w ? [mean[1], mean[2]] : [h, w]);
  if (rh < h || rw < w) throw new CaffeToolError(`--resize ${rh},${rw} is smaller than the net's input ${h}x${w}`);
  const img = resizeLinear(await decodeImage(path, c, {}, ''), rh, rw);
  const top = Math.floor((rh - h) / 2);
  const left = Math.floor((rw - w) / 2);
  const out = new Float32Array(c * h * w);
  const meanOf = meanAt(pre, c, h, w);
  const scale = Math.fround(pre.scale);
  // Caffe's channel 0 is blue; decodeImage gives colour in RGB order (marked), or BGR.
  const reversed = c === 3 && (img.order === 'rgb') === (pre.channelOrder === 'bgr');
  for (let ch = 0; ch < c; ch++) {
    const src = reversed ? 2 - ch : ch;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = img.data[((top + y) * rw + (left + x)) * c + src];
        const i = (ch * h + y) * w + x;
        out[i] = Math.fround(Math.fround(v - meanOf(ch, i)) * scale);
      }
    }
  }
  return out;
}

/** The mean to subtract at channel ch, flat position i of the cropped input. */
function meanAt(pre: Preprocess, c: number, h: number, w: number): (ch: number, i: number) => number {
  if (pre.meanImage) {
    const [mc, mh, mw] = pre.meanImage.shape;
    if (mc !== c) throw new CaffeToolError(`the mean image has ${mc} channels, the net's input ${c}`);
    const m = pre.meanImage.data;
    if (mh === h && mw === w) return (_ch, i) => m[i];
    if (mh >= h && mw >= w) {
      // Caffe crops the mean with the image: the center crop of the mean.
      const top = Math.floor((mh - h) / 2);
      const left = Math.floor((mw - w) / 2);
      return (ch, i) => {
        const y = Math.floor((i % (h * w)) / w);
        const x = i % w;
        return m[(ch * mh + top + y) * mw + left + x];
      };
    }
    throw new CaffeToolError(`the mean image is ${mh}x${mw}, smaller than the net's input ${h}x${w}`, { hint: 'give per-channel --mean-values instead' });
  }
  const values = pre.meanValues;
  if (!values?.length) return () => 0;
  if (values.length !== 1 && values.length !== c) throw new CaffeToolError(`${values.length} mean values for ${c} channels: give one, or one per channel`);
  const f = values.map(Math.fround);
  return (ch) => f[f.length === 1 ? 0 : ch];
}
