// The list files of ImageData ("path label" per line), DenseImageData ("image label_image") and DeepLab's
// ImageSegData (by label_type), read with each entry's line number so that a missing file can be named with the
// line that lists it.
import { readFileSync } from 'node:fs';
import { CaffeToolError } from '../../errors.js';
import { Rng } from '../../surgery/fillers.js';
import { randInt, shuffle } from './source.js';

export interface ListEntry {
  /** 1-based line in the list file. */
  line: number;
  first: string;
  second: string;
}

function readList(path: string, what: string): string[] {
  try {
    return readFileSync(path, 'utf8').split(/\r?\n/);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.message;
    throw new CaffeToolError(`cannot read the ${what} list ${path}: ${why}`, { cause: e });
  }
}

/** ImageData: BVLC splits each line at its last space, so image paths may hold spaces. */
export function readImageList(path: string): ListEntry[] {
  const out: ListEntry[] = [];
  readList(path, 'image').forEach((text, i) => {
    const line = text.trim();
    if (!line) return;
    const cut = line.lastIndexOf(' ');
    const label = cut < 0 ? '' : line.slice(cut + 1);
    if (cut < 0 || !/^-?\d+$/.test(label)) {
      throw new CaffeToolError(`expected 'path label' (an integer label after the last space), got '${line}'`, { where: { file: path, line: i + 1 } });
    }
    out.push({ line: i + 1, first: line.slice(0, cut).trimEnd(), second: label });
  });
  if (!out.length) throw new CaffeToolError(`the image list ${path} lists no images`);
  return out;
}

/** DenseImageData: two whitespace-separated paths per line (the fork reads them with `>>`). */
export function readPairList(path: string): ListEntry[] {
  const out: ListEntry[] = [];
  readList(path, 'image/label').forEach((text, i) => {
    const parts = text.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return;
    if (parts.length !== 2) {
      throw new CaffeToolError(`expected 'image label_image' (two paths), got '${text.trim()}'`, { where: { file: path, line: i + 1 } });
    }
    out.push({ line: i + 1, first: parts[0], second: parts[1] });
  });
  if (!out.length) throw new CaffeToolError(`the image/label list ${path} lists no pairs`);
  return out;
}

/**
 * ImageSegData: whitespace-separated columns, read with `>>`: the image, then (label_type PIXEL) the label image or
 * (IMAGE) one integer label for the whole image; label_type NONE reads the image alone. Later columns are ignored.
 */
export function readSegList(path: string, labelType: 'NONE' | 'IMAGE' | 'PIXEL'): ListEntry[] {
  const out: ListEntry[] = [];
  readList(path, 'image/label').forEach((text, i) => {
    const parts = text.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return;
    const where = { file: path, line: i + 1 };
    if (labelType !== 'NONE' && parts.length < 2) {
      throw new CaffeToolError(`expected 'image ${labelType === 'PIXEL' ? 'label_image' : 'label'}' (label_type ${labelType}), got '${text.trim()}'`, { where });
    }
    if (labelType === 'IMAGE' && !/^[-+]?\d+$/.test(parts[1])) {
      throw new CaffeToolError(`label_type IMAGE needs an integer label after the image, got '${parts[1]}'`, { where, hint: 'for label images, set image_data_param { label_type: PIXEL }' });
    }
    out.push({ line: i + 1, first: parts[0], second: labelType === 'NONE' ? '' : parts[1] });
  });
  if (!out.length) throw new CaffeToolError(`the image list ${path} lists no images`);
  return out;
}

/**
 * A list read in order and from the top again at its end, as ImageData and DenseImageData read theirs: with
 * shuffle, shuffled at the start and at every wrap-around; with rand_skip, started up to that many lines in.
 * Shuffles draw from a generator of their own, seeded from the layer's (Caffe's prefetch_rng_), so the order
 * does not change with the transform's random draws.
 */
export class ListCursor {
  private at = 0;
  private readonly rng: Rng;

  constructor(private readonly entries: ListEntry[], private readonly shuffled: boolean, layerRng: Rng, randSkip: number) {
    this.rng = new Rng(Math.floor(layerRng.uniform() * 2 ** 32));
    if (shuffled) shuffle(entries, this.rng);
    // image_data_layer.cpp skips after shuffling too, and refuses a skip past the list (CHECK_GT).
    if (randSkip > 0) {
      this.at = randInt(this.rng.uniform(), randSkip);
      if (this.at >= entries.length) throw new CaffeToolError(`rand_skip drew ${this.at}, but the list has ${entries.length} entries: not enough points to skip, as Caffe says`, { hint: `use a rand_skip of at most ${entries.length}` });
    }
  }

  next(): ListEntry {
    const entry = this.entries[this.at];
    if (++this.at >= this.entries.length) {
      this.at = 0;
      if (this.shuffled) shuffle(this.entries, this.rng);
    }
    return entry;
  }
}
