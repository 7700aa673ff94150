// Reading a model's outputs as people want them: top-K classes with labels, a segmentation class map and
// its colour mask (the PASCAL VOC palette).
import { readFileSync } from 'node:fs';

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
