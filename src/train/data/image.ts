// Images as Caffe's ReadImageToCVMat gives them: decoded (sharp, on libuv's pool) to 8-bit HWC in OpenCV's BGR
// order, or one grey channel; resized like cv::resize, INTER_LINEAR for images (half-pixel centres, rounded to
// 8 bits) and INTER_NEAREST for label images, whose values are classes and must never be blended.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { CaffeToolError, type Where } from '../../errors.js';
import type { Pixels } from './transform.js';

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
    const img = sharp(input);
    const meta = native ? await img.metadata() : undefined;
    const { data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const grey = info.channels <= 2 || (meta !== undefined && ((meta.channels ?? 3) <= 2 || meta.space === 'b-w'));
    return { data, channels: info.channels, height: info.height, width: info.width, grey };
  } catch (e) {
    throw new CaffeToolError(`cannot decode the image ${name}: ${(e as Error).message}`, { where, cause: e });
  }
}

/**
 * Decode a file (a path) or encoded bytes into 8-bit HWC pixels: 3 colour channels (cv::IMREAD_COLOR; kept
 * in sharp's RGB and marked so), 1 grey channel (IMREAD_GRAYSCALE, OpenCV's BGR2GRAY weights), or 'native'
 * (grey stays grey, colour is colour).
 */
export async function decodeImage(input: string | Uint8Array, channels: Channels, where: Where = {}): Promise<Pixels> {
  const name = typeof input === 'string' ? input : 'in the record';
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
    else {
      // cv::cvtColor BGR2GRAY in fixed point: (R*4899 + G*9617 + B*1868 + 2^13) >> 14.
      for (let i = 0; i < n; i++) out[i] = (src[i * k] * 4899 + src[i * k + 1] * 9617 + src[i * k + 2] * 1868 + 8192) >> 14;
    }
  } else {
    for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i * k];
  }
  return { data: out, channels: want, height: img.height, width: img.width, layout: 'hwc' };
}

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

/** cv::resize(INTER_LINEAR) on 8-bit HWC pixels: half-pixel centres, edge clamped, rounded. */
export function resizeLinear(img: Pixels, height: number, width: number): Pixels {
  if (img.height === height && img.width === width) return img;
  const c = img.channels;
  const xs = axis(img.width, width);
  const ys = axis(img.height, height);
  const out = new Uint8Array(height * width * c);
  const src = img.data;
  for (let y = 0; y < height; y++) {
    const [y0, y1, fy] = ys[y];
    for (let x = 0; x < width; x++) {
      const [x0, x1, fx] = xs[x];
      for (let ch = 0; ch < c; ch++) {
        const a = src[(y0 * img.width + x0) * c + ch];
        const b = src[(y0 * img.width + x1) * c + ch];
        const d = src[(y1 * img.width + x0) * c + ch];
        const e = src[(y1 * img.width + x1) * c + ch];
        const top = a + (b - a) * fx;
        const bottom = d + (e - d) * fx;
        out[(y * width + x) * c + ch] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { data: out, channels: c, height, width, layout: 'hwc', order: img.order };
}

/** Source indices and weight along one axis, as OpenCV computes them for INTER_LINEAR. */
function axis(src: number, dst: number): [number, number, number][] {
  const scale = src / dst;
  const out: [number, number, number][] = [];
  for (let d = 0; d < dst; d++) {
    const f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let w = f - s;
    if (s < 0) [s, w] = [0, 0];
    if (s >= src - 1) [s, w] = [src - 1, 0];
    out.push([s, Math.min(s + 1, src - 1), w]);
  }
  return out;
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
