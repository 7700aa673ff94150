// POST /v2/models/{name}/classify: an image (JPEG/PNG) in, Caffe's preprocessing for the net, and the answer
// people want: the top-K classes, or for a segmentation net the colour mask (the PASCAL VOC palette).
import sharp from 'sharp';
import { CaffeToolError } from '../../errors.js';
import { classMap, colourMask, topK } from '../outputs.js';
import { imageToTensor } from '../preprocess.js';
import { HttpError } from './http.js';
import type { ServedModel } from './models.js';

export type ClassifyAnswer =
  | { kind: 'json'; body: unknown }
  | { kind: 'png'; png: Buffer };

export async function classifyImage(m: ServedModel, image: Buffer, opts: { top: number; png: boolean }): Promise<ClassifyAnswer> {
  if (m.inputs.length !== 1) throw new HttpError(400, `the model '${m.name}' has ${m.inputs.length} inputs: classify feeds one image; use /infer`);
  const [input] = m.inputs;
  const [batch, c, h, w] = input.shape;
  if (input.shape.length !== 4 || !(c === 1 || c === 3) || !(h > 0 && w > 0)) {
    throw new HttpError(400, `the model '${m.name}' takes [${input.shape.join(', ')}], not an N x (1 or 3) x H x W image: use /infer`);
  }
  if (!image.length) throw new HttpError(400, 'the body is empty: send a JPEG or PNG image');
  let item: Float32Array;
  try {
    item = await imageToTensor(image, [c, h, w], m.preprocess);
  } catch (e) {
    if (e instanceof CaffeToolError) throw new HttpError(400, `${e.message}: send a JPEG or PNG image`);
    throw e;
  }
  // A model whose batch is fixed at B gets the image and B - 1 empty items.
  const n = batch > 0 ? batch : 1;
  const data = n === 1 ? item : new Float32Array(n * item.length);
  if (n > 1) data.set(item);
  const results = await m.batcher.submit({ [input.name]: { data, dims: [n, c, h, w] } });
  const out = results[m.outputs[0].name];
  const per = out.data.length / out.dims[0];
  const scores = out.data.subarray(0, per);

  if (m.task === 'classify') return { kind: 'json', body: { model: m.name, top: topK(scores, opts.top, m.labels) } };
  const [, classes, mh, mw] = out.dims;
  const png = await sharp(colourMask(scores, classes, mh, mw), { raw: { width: mw, height: mh, channels: 3 } }).png().toBuffer();
  if (opts.png) return { kind: 'png', png };
  const present = classMap(scores, classes, mh, mw, m.labels).counts;
  return {
    kind: 'json',
    body: { model: m.name, width: mw, height: mh, classes: present, mask: `data:image/png;base64,${png.toString('base64')}` },
  };
}

/** `?top=K`: a whole number from 1; 5 when not given. */
export function parseTop(value: string | null): number {
  if (value === null) return 5;
  const k = Number(value);
  if (!Number.isInteger(k) || k < 1) throw new HttpError(400, `top=${value}: give a whole number of classes, 1 or more`);
  return k;
}
