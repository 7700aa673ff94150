// Parameters the data layers share: a positive batch size, the optional new_height x new_width resize of
// image lists, and the channel count of images read in color or grayscale.
import { CaffeToolError } from '../errors.js';
import type { Params } from './params.js';

export function batchSize(p: Params, param: string): number {
  const n = p.num('batch_size');
  if (!(n > 0)) throw new CaffeToolError(`${param}.batch_size is ${n}: a data layer needs a positive batch size`);
  return n;
}

/** [new_height, new_width] when the images are resized, undefined when they keep their own size. */
export function newImageSize(p: Params, param: string): [number, number] | undefined {
  const [h, w] = [p.num('new_height'), p.num('new_width')];
  if ((h > 0) !== (w > 0)) {
    throw new CaffeToolError(`${param} has new_height ${h} and new_width ${w}: give both (to resize every image) or neither`);
  }
  return h > 0 ? [h, w] : undefined;
}

/** OpenCV reads an image as 3-channel BGR, or 1-channel when is_color is false. */
export const imageChannels = (p: Params): number => (p.bool('is_color') ? 3 : 1);
