// Reading a model's outputs as people want them: top-K classes with labels, a segmentation class map and
// its colour mask (the PASCAL VOC palette), written as .npy or PNG.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import sharp from 'sharp';
import { CaffeToolError, usageError } from '../errors.js';
import { writeAll, writeAtomic } from '../io/atomic.js';
import { writeNpy } from '../io/npy.js';
import { count } from '../layers/shape.js';

export interface Scored {
  index: number;
  score: number;
  label?: string;
}

/** Class names, one per line; `n01440764 tench, Tinca tinca` (synset_words.txt) gives `tench, Tinca tinca`. */
export function readLabels(path: string): string[] {
  return readFileSync(path, 'utf8').split(/\r?\n/).filter((l, i, all) => l.length || i < all.length - 1).map((l) => l.replace(/^n\d{8}\s+/, '').trim());
}

export function topK(scores: Float32Array, k: number, labels?: string[]): Scored[] {
  const idx = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, Math.max(1, k));
  return idx.map((i) => ({ index: i, score: scores[i], ...(labels?.[i] !== undefined ? { label: labels[i] } : {}) }));
}

/** Per-pixel argmax over C channels of one C x H x W output, and each class's share of the pixels. */
export function classMap(data: Float32Array, c: number, h: number, w: number, labels?: string[]) {
  const map = argmaxChannels(data, c, h * w);
  const counts = new Array<number>(c).fill(0);
  for (const k of map) counts[k]++;
  return {
    height: h, width: w,
    counts: counts.map((n, index) => ({ index, share: n / map.length, ...(labels?.[index] !== undefined ? { label: labels[index] } : {}) })).filter((x) => x.share > 0).sort((a, b) => b.share - a.share),
  };
}

function argmaxChannels(data: Float32Array, c: number, plane: number): Uint8Array | Uint16Array {
  const map = c <= 256 ? new Uint8Array(plane) : new Uint16Array(plane);
  for (let p = 0; p < plane; p++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (data[k * plane + p] > data[best * plane + p]) best = k;
    map[p] = best;
  }
  return map;
}

/** The PASCAL VOC colour of class k (the bit-interleaved palette every segmentation tool uses). */
export function vocColour(k: number): [number, number, number] {
  let [r, g, b] = [0, 0, 0];
  for (let bit = 7, c = k; c; bit--, c >>= 3) {
    r |= ((c >> 0) & 1) << bit;
    g |= ((c >> 1) & 1) << bit;
    b |= ((c >> 2) & 1) << bit;
  }
  return [r, g, b];
}

/** RGB bytes (H x W x 3) of the argmax class map of one C x H x W output. */
export function colourMask(data: Float32Array, c: number, h: number, w: number): Uint8Array {
  const map = argmaxChannels(data, c, h * w);
  const rgb = new Uint8Array(h * w * 3);
  const palette = Array.from({ length: c }, (_, k) => vocColour(k));
  map.forEach((k, p) => rgb.set(palette[k], p * 3));
  return rgb;
}

/** What one item of a classification or segmentation output says: its top-K, or its class shares. */
export function describeItem(file: string, i: number, out: { data: Float32Array; dims: number[] }, k: number, labels?: string[]) {
  const [n, c, ...rest] = out.dims;
  const per = out.data.length / n;
  const slice = out.data.subarray(i * per, (i + 1) * per);
  const spatial = count(rest);
  if (c !== undefined && spatial === 1) return { file, top: topK(slice, k, labels) };
  if (c !== undefined && rest.length === 2 && spatial > 1) return { file, classes: classMap(slice, c, rest[0], rest[1], labels) };
  return { file };
}

/** --output: the raw first output as .npy, or each item's segmentation mask as a colour PNG. */
export async function writeOutput(path: string, out: { data: Float32Array; dims: number[] }, n: number): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    writeAtomic(path, (fd) => writeAll(fd, writeNpy({ data: out.data, shape: out.dims })));
    return;
  }
  if (ext !== '.png') throw usageError(`--output ${path}: write .npy (raw output) or .png (segmentation mask)`);
  const [, c, h, w] = out.dims;
  if (out.dims.length !== 4 || h * w <= 1) throw new CaffeToolError(`a mask needs an N x C x H x W output, this one is ${out.dims.join('x')}`);
  for (let i = 0; i < n; i++) {
    const rgb = colourMask(out.data.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w);
    const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
    const file = n === 1 ? path : path.replace(/\.png$/i, `_${i}.png`);
    writeAtomic(file, (fd) => writeAll(fd, png));
  }
}
