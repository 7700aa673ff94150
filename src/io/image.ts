// Images as Caffe's ReadImageToCVMat gives them: decoded (sharp, on libuv's pool) to 8-bit HWC in OpenCV's BGR
// order, or one grey channel; resized like cv::resize, INTER_LINEAR for images (half-pixel centres, rounded to
// 8 bits) and INTER_NEAREST for label images, whose values are classes and must never be blended.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { CaffeToolError, type Where } from '../errors.js';

/** 8-bit (or float, for Datum.float_data) pixels with their layout: OpenCV's HWC, or a Datum's CHW. */
export interface Pixels {
  data: Uint8Array | Float32Array;
  channels: number;
  height: number;
  width: number;
  layout: 'hwc' | 'chw';
  /** Colour channel order of the data: Caffe's is BGR; sharp's RGB output is read reversed rather than copied. */
  order?: 'bgr' | 'rgb';
}

export type Channels = 1 | 3 | 'native';

async function readBytes(path: string, where: Where): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    throw new CaffeToolError(`cannot read the image ${path}: ${why}`, { where, cause: e, hint: where.line ? 'each path of the list is read as root_folder + path, as Caffe does (a root_folder needs its trailing /)' : undefined });
  }
}

/**
 * Raw 8-bit pixels. sharp hands grey images out as three equal channels, which is what IMREAD_COLOR gives and
 * what BGR2GRAY turns back into the grey values exactly; only `native` needs to know the file was grey, and
 * asks the file's metadata (a second header read) for it.
 */
async function raw(input: Buffer, name: string, where: Where, native = false): Promise<{ data: Buffer; channels: number; height: number; width: number; grey: boolean }> {
  try {
    // As cv::imread: embedded ICC profiles are not applied; the EXIF orientation is (OpenCV 3.1 and later).
    const img = sharp(input, { ignoreIcc: true, autoOrient: true });
    if (jpegComponents(input) === 4) return await cmyk(img);
    const meta = native ? await img.metadata() : undefined;
    const { data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const grey = info.channels <= 2 || (meta !== undefined && ((meta.channels ?? 3) <= 2 || meta.space === 'b-w'));
    return { data, channels: info.channels, height: info.height, width: info.width, grey };
  } catch (e) {
    throw new CaffeToolError(`cannot decode the image${name ? ` ${name}` : ''}: ${(e as Error).message}`, { where, cause: e });
  }
}

/**
 * A CMYK JPEG as OpenCV makes it BGR (icvCvt_CMYK2BGR_8u_C4C3R on what libjpeg hands out: Adobe's inverted
 * values): x = k - ((255 - x) * k >> 8) for each of c, m, y, into R, G, B. libvips would convert it through its
 * own CMYK profile instead (off by up to 48); it gives the true CMYK values, inverted back here.
 */
async function cmyk(img: sharp.Sharp): Promise<{ data: Buffer; channels: number; height: number; width: number; grey: boolean }> {
  const { data, info } = await img.pipelineColourspace('cmyk').toColourspace('cmyk').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const out = Buffer.allocUnsafe(n * 3);
  for (let i = 0; i < n; i++) {
    const k = 255 - data[4 * i + 3];
    for (let ch = 0; ch < 3; ch++) out[3 * i + ch] = k - ((data[4 * i + ch] * k) >> 8);
  }
  return { data: out, channels: 3, height: info.height, width: info.width, grey: false };
}

/** The number of colour components a JPEG's frame header declares (4: CMYK or YCCK), or 0 for other files. */
function jpegComponents(b: Uint8Array): number {
  if (b[0] !== 0xff || b[1] !== 0xd8) return 0;
  for (let i = 2; i + 9 < b.length && b[i] === 0xff;) {
    const marker = b[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return b[i + 9];
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return 0;
}

/**
 * Decode a file (a path) or encoded bytes into 8-bit HWC pixels: 3 colour channels (cv::IMREAD_COLOR; kept
 * in sharp's RGB and marked so), 1 grey channel (IMREAD_GRAYSCALE, OpenCV's BGR2GRAY weights), or 'native'
 * (grey stays grey, colour is colour).
 */
export async function decodeImage(input: string | Uint8Array, channels: Channels, where: Where = {}, bytesName = 'in the record'): Promise<Pixels> {
  const name = typeof input === 'string' ? input : bytesName;
  const bytes = typeof input === 'string' ? await readBytes(input, where) : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const img = await raw(bytes, name, where, channels === 'native');
  const grey = img.grey;
  const want = channels === 'native' ? (grey ? 1 : 3) : channels;
  const n = img.height * img.width;
  const src = img.data;
  const k = img.channels;
  // Colour as sharp gives it: RGB, which the transform reads in reverse; no copy.
  if (want === 3 && k === 3) return { data: src, channels: 3, height: img.height, width: img.width, layout: 'hwc', order: 'rgb' };
  const out = new Uint8Array(n * want);
  if (want === 1) {
    if (grey) for (let i = 0; i < n; i++) out[i] = src[i * k];
    else if (isPng(bytes)) {
      // OpenCV has libpng convert (png_set_rgb_to_gray with 0.299, 0.587): (R*9797 + G*19234 + B*3737) >> 15.
      // (Not matched: a gAMA chunk sends libpng down a gamma-corrected path, 16-bit samples convert before the
      // drop to 8 bits; a few grey levels, or one, off.)
      for (let i = 0; i < n; i++) out[i] = (src[i * k] * 9797 + src[i * k + 1] * 19234 + src[i * k + 2] * 3737) >> 15;
    } else {
      // cv::cvtColor BGR2GRAY in fixed point: (R*4899 + G*9617 + B*1868 + 2^13) >> 14. (For a colour JPEG libjpeg
      // hands OpenCV its decoded Y plane instead, which this matches on all but a few values.)
      for (let i = 0; i < n; i++) out[i] = (src[i * k] * 4899 + src[i * k + 1] * 9617 + src[i * k + 2] * 1868 + 8192) >> 14;
    }
  } else {
    for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i * k];
  }
  return { data: out, channels: want, height: img.height, width: img.width, layout: 'hwc' };
}

const isPng = (b: Uint8Array) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;

/**
 * A label image: one channel, values untouched. Grey PNGs (with or without alpha) give their grey channel; a
 * colour image whose three channels agree everywhere is taken as grey; a truly colour one is refused.
 */
export async function decodeLabel(path: string, where: Where = {}): Promise<Pixels> {
  const img = await raw(await readBytes(path, where), path, where);
  const n = img.height * img.width;
  const out = new Uint8Array(n);
  const k = img.channels;
  for (let i = 0; i < n; i++) {
    const v = img.data[i * k];
    if (k >= 3 && (img.data[i * k + 1] !== v || img.data[i * k + 2] !== v)) {
      throw new CaffeToolError(`the label image ${path} is in colour (pixel ${i % img.width},${Math.floor(i / img.width)} differs between channels)`, {
        where,
        hint: 'label images hold one class index per pixel in a single grey channel; convert colour-coded (or palette) labels to class indices first',
      });
    }
    out[i] = v;
  }
  return { data: out, channels: 1, height: img.height, width: img.width, layout: 'hwc' };
}

/**
 * cv::resize(INTER_LINEAR) on 8-bit HWC pixels, in OpenCV's own fixed point (resize.cpp, as Debian's OpenCV 4 runs
 * it), so that the bytes are the ones Caffe's ReadImageToCVMat gives: weights rounded to 1/2048, a horizontal pass
 * into integers, then the vertical one as OpenCV's SIMD loop computes it: ((S0 >> 4) * b0 >> 16) + ((S1 >> 4) *
 * b1 >> 16), + 2 >> 2 (the plain rounding (S0 b0 + S1 b1 + 2^21) >> 22 is off by one on about 1 value in 800).
 */
export function resizeLinear(img: Pixels, height: number, width: number): Pixels {
  if (img.height === height && img.width === width) return img;
  const c = img.channels;
  const xs = linearTaps(img.width, width, true);
  const ys = linearTaps(img.height, height, false);
  const rowLength = width * c;
  const src = img.data;
  const rows = new Map<number, Int32Array>();
  const horizontal = (sy: number): Int32Array => {
    let row = rows.get(sy);
    if (row) return row;
    row = new Int32Array(rowLength);
    const base = sy * img.width * c;
    for (let x = 0; x < width; x++) {
      const { index, a0, a1 } = xs[x];
      for (let ch = 0; ch < c; ch++) {
        const p = base + index * c + ch;
        row[x * c + ch] = index + 1 < img.width ? src[p] * a0 + src[p + c] * a1 : src[p] * 2048;
      }
    }
    rows.set(sy, row);
    return row;
  };
  const out = new Uint8Array(height * rowLength);
  for (let y = 0; y < height; y++) {
    const { index, a0: b0, a1: b1 } = ys[y];
    const s0 = horizontal(Math.min(Math.max(index, 0), img.height - 1));
    const s1 = horizontal(Math.min(Math.max(index + 1, 0), img.height - 1));
    const o = y * rowLength;
    for (let x = 0; x < rowLength; x++) {
      const v = ((((s0[x] >> 4) * b0) >> 16) + (((s1[x] >> 4) * b1) >> 16) + 2) >> 2;
      out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, channels: c, height, width, layout: 'hwc', order: img.order };
}

/**
 * Source index and the two weights (in 1/2048) of each destination position along one axis, as resize.cpp
 * computes them: in float from a double scale, rounded half to even; the x axis is clamped to the image, the y
 * axis is not (its rows are clamped when read, with the weights as they came).
 */
function linearTaps(src: number, dst: number, clampEdges: boolean): { index: number; a0: number; a1: number }[] {
  const scale = 1 / (dst / src);
  const taps: { index: number; a0: number; a1: number }[] = [];
  for (let d = 0; d < dst; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    let index = Math.floor(f);
    let w = Math.fround(f - index);
    if (clampEdges && index < 0) [index, w] = [0, 0];
    if (clampEdges && index >= src - 1) [index, w] = [src - 1, 0];
    taps.push({ index, a0: roundHalfEven(Math.fround(1 - w) * 2048), a1: roundHalfEven(w * 2048) });
  }
  return taps;
}

/** cvRound: to the nearest integer, halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** cv::resize(INTER_NEAREST): source index floor(d * src / dst), the values copied. */
export function resizeNearest(img: Pixels, height: number, width: number): Pixels {
  if (img.height === height && img.width === width) return img;
  const c = img.channels;
  const out = new Uint8Array(height * width * c);
  // OpenCV's own doubles: ifx = 1 / (dst / src).
  const ifx = 1 / (width / img.width);
  const ify = 1 / (height / img.height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y * ify));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x * ifx));
      for (let ch = 0; ch < c; ch++) out[(y * width + x) * c + ch] = img.data[(sy * img.width + sx) * c + ch];
    }
  }
  return { data: out, channels: c, height, width, layout: 'hwc', order: img.order };
}
