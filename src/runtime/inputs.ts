// A model's inputs from files: images (preprocessed as Caffe does) and .npy tensors, as batch items.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { CaffeToolError } from '../errors.js';
import { readNpy } from '../io/npy.js';
import { count } from '../layers/shape.js';
import { imageToTensor, type Preprocess } from './preprocess.js';

/** One input file as batch items: an image is one; a .npy is one (C x H x W) or several (N x C x H x W). */
export async function readInput(file: string, item: number[], pre: Preprocess): Promise<{ file: string; data: Float32Array }[]> {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') {
    const a = readNpy(readFileSync(file), file);
    const size = count(item);
    const batched = a.shape.length === item.length + 1 && a.shape.slice(1).join('x') === item.join('x');
    if (!batched && a.shape.join('x') !== item.join('x')) {
      throw new CaffeToolError(`${file} is ${a.shape.join('x')}: the model takes ${item.join('x')} per input (or N x ${item.join('x')})`);
    }
    const n = batched ? a.shape[0] : 1;
    return Array.from({ length: n }, (_, i) => ({ file: n === 1 ? file : `${file}[${i}]`, data: a.data.subarray(i * size, (i + 1) * size) }));
  }
  if (item.length !== 3) throw new CaffeToolError(`images feed a C x H x W input; this model takes ${item.join('x')}: give .npy tensors`);
  return [{ file, data: await imageToTensor(file, item as [number, number, number], pre) }];
}
