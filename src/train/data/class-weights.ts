// Class weights for a segmentation loss (SoftmaxWithLoss with weight_by_label_freqs / class_weighting in the
// SegNet and ENet forks), from the label images of a DenseImageData list.
// - median: median-frequency balancing (Eigen & Fergus, as SegNet uses it): freq(c) = pixels of class c /
//   pixels of the images where c appears; weight(c) = median over the classes of freq / freq(c).
// - inverse: the two-class rule of binary segmentation (DeepSegmentor's tools/calculate_weights.py, for
//   crack detection): freq(c) = pixels of c / all pixels; weight(c) = min(freq) / freq(c), so the rare class
//   weighs 1 and the common one less.
// Pixels of the ignore label count nowhere, not even in their image's size.
import { CaffeToolError } from '../../errors.js';
import { decodeLabel } from '../../io/image.js';
import { readPairList } from './list.js';

export interface LabelCounts {
  /** Per class: its pixels; the (counted) pixels of the images it appears in; the number of those images. */
  pixels: number[];
  imagePixels: number[];
  images: number[];
  files: number;
}

export async function countLabels(
  list: string,
  opts: { resolve: (path: string) => string; rootFolder?: string; classes?: number; ignoreLabel?: number },
): Promise<LabelCounts> {
  const pairs = readPairList(list);
  const hist = new Array<number[]>(pairs.length);
  let next = 0;
  // A few label images decode at once on sharp's pool.
  const worker = async () => {
    while (next < pairs.length) {
      const i = next++;
      const where = { file: list, line: pairs[i].line };
      const path = opts.resolve((opts.rootFolder ?? '') + pairs[i].second);
      const lab = await decodeLabel(path, where);
      const h = new Array<number>(256).fill(0);
      for (const v of lab.data) h[v]++;
      if (opts.ignoreLabel !== undefined && opts.ignoreLabel >= 0 && opts.ignoreLabel < 256) h[opts.ignoreLabel] = 0;
      if (opts.classes !== undefined) {
        const bad = h.findIndex((n, v) => n > 0 && v >= opts.classes!);
        if (bad >= 0) throw new CaffeToolError(`the label image ${path} holds label ${bad}, outside the ${opts.classes} classes 0..${opts.classes - 1}`, { where, hint: 'give --ignore-label for a void label, or a larger --classes' });
      }
      hist[i] = h;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const classes = opts.classes ?? hist.reduce((top, h) => Math.max(top, ...h.flatMap((n, v) => (n > 0 ? [v + 1] : []))), 0);
  const counts: LabelCounts = { pixels: new Array(classes).fill(0), imagePixels: new Array(classes).fill(0), images: new Array(classes).fill(0), files: pairs.length };
  for (const h of hist) {
    const size = h.reduce((a, b) => a + b, 0);
    for (let c = 0; c < classes; c++) {
      if (!h[c]) continue;
      counts.pixels[c] += h[c];
      counts.imagePixels[c] += size;
      counts.images[c]++;
    }
  }
  return counts;
}

/** Median-frequency weights; a class that never appears gets 0 (it has no frequency; its loss terms never occur). */
export function medianFrequencyWeights(counts: LabelCounts): number[] {
  const freq = counts.pixels.map((n, c) => (n ? n / counts.imagePixels[c] : 0));
  const present = freq.filter((f) => f > 0).sort((a, b) => a - b);
  if (!present.length) throw new CaffeToolError('no labelled pixel was found: every label image is empty or ignored');
  const mid = present.length >> 1;
  const median = present.length % 2 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
  return freq.map((f) => (f ? median / f : 0));
}

/** The two-class inverse-frequency rule: min(freq) / freq(c) with freq over all counted pixels. */
export function inverseFrequencyWeights(counts: LabelCounts): number[] {
  if (counts.pixels.length !== 2) {
    throw new CaffeToolError(`the inverse-frequency rule is for two classes, and there are ${counts.pixels.length}`, { hint: 'use --method median for more classes, or --classes 2 (with --ignore-label for a void label)' });
  }
  const total = counts.pixels[0] + counts.pixels[1];
  const freq = counts.pixels.map((n) => n / total);
  if (freq.some((f) => f === 0)) throw new CaffeToolError(`class ${freq.indexOf(0)} never appears: its weight would be infinite`);
  const min = Math.min(...freq);
  return freq.map((f) => min / f);
}
