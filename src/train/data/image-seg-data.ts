// DeepLab v2's ImageSegData (image_seg_data_layer.cpp and DataTransformer::TransformImgAndSeg, as in PSPNet's
// release): an image and its label map per list line. Per image, in Caffe's order:
// - both resized to new_height x new_width when given, by OpenCV's default INTER_LINEAR, the label too (as
//   ReadImageToCVMat does it); a label_type IMAGE line gives a map of its one label, NONE one of ignore_label;
// - the random draws: mirror (transform_param.mirror, in either phase), one of transform_param.scale_factors
//   (in either phase; the image rescaled INTER_LINEAR, the label INTER_NEAREST, to trunc(size x factor));
// - padded at the bottom and right up to the crop, the image with the mean values (0 once they are subtracted),
//   the label with image_data_param.ignore_label; then cut at random offsets in TRAIN, the centre in TEST;
// - (pixel - mean_value) x scale in float, as the fork's Dtype arithmetic; the label's bytes as they are.
// The third top, data_dim, holds each image's rows and columns after the new_height/new_width resize, at most the
// data top's. Without a crop every image must come out at the first one's size (Caffe would write past its blob).
import { CaffeToolError } from '../../errors.js';
import { decodeImage, decodeLabel, type Pixels, resizeLinear, resizeNearest } from '../../io/image.js';
import { segCrop } from '../../layers/image-seg-data.js';
import { type ListEntry, ListCursor, readSegList } from './list.js';
import type { LayerInput } from './index.js';
import { type Batch, Prefetcher, randInt } from './source.js';
import type { Draw } from './transform.js';

/** The transform's draws plus the scale factor drawn. */
interface SegDraw extends Draw {
  factor: number;
}

export function openImageSegData(input: LayerInput): Prefetcher {
  const { layer, params, rng, resolve, phase, transformer } = input;
  const p = params('image_data_param');
  const t = params('transform_param');
  const labelType = p.str('label_type') as 'NONE' | 'IMAGE' | 'PIXEL';
  const listFile = resolve(p.str('source'));
  const entries = readSegList(listFile, labelType);
  const batchSize = p.num('batch_size');
  const [newH, newW] = [p.num('new_height'), p.num('new_width')];
  const [cropH, cropW] = segCrop(t);
  const crop = cropH > 0 && cropW > 0;
  const channels = p.bool('is_color') ? 3 : 1;
  const root = p.str('root_folder');
  const ignore = p.num('ignore_label');
  const { mirror, scale } = transformer;
  const factors = t.info.byName.has('scale_factors') ? t.list('scale_factors') : [];
  if (!crop && factors.some((f) => f !== 1)) {
    throw new CaffeToolError('transform_param.scale_factors rescale every image, so ImageSegData needs a crop to give its batches one size', {
      where: { layer: layer.name }, hint: 'set transform_param crop_size (or crop_height and crop_width)',
    });
  }
  const means = Array.from({ length: channels }, (_, c) => transformer.meanValue(c, channels));
  // Without a crop, the first image read fixes the size, as Caffe's setup does (batches are started in order).
  let firstSize: Promise<[number, number]> | undefined;
  const cursor = new ListCursor(entries, p.bool('shuffle'), rng, p.num('rand_skip'));
  const tops = layer.tops;
  // The label's border, a CV_8U Mat's (cv::Scalar saturates).
  const padLabel = byte(ignore);

  const plan = () => {
    const items: { entry: ListEntry; draw: SegDraw }[] = [];
    for (let i = 0; i < batchSize; i++) {
      const entry = cursor.next();
      const m = mirror && rng.uniform() < 0.5;
      const factor = factors.length ? factors[randInt(rng.uniform(), factors.length)] : 1;
      const random = crop && phase === 'TRAIN';
      items.push({ entry, draw: { mirror: m, factor, cropH: random ? rng.uniform() : -1, cropW: random ? rng.uniform() : -1 } });
    }
    return async (): Promise<Batch> => {
      const loading = Promise.all(items.map(({ entry }) => load(entry)));
      firstSize ??= loading.then((l): [number, number] => [l[0].img.height, l[0].img.width]);
      const loaded = await loading;
      const [h, w] = crop ? [cropH, cropW] : await firstSize;
      const data = new Float32Array(batchSize * channels * h * w);
      const label = new Float32Array(batchSize * h * w);
      const dims = new Float32Array(batchSize * 2);
      loaded.forEach((pair, i) => {
        const { img, lab } = rescale(pair.img, pair.lab, items[i].draw.factor);
        if (!crop && (img.height !== h || img.width !== w)) {
          throw new CaffeToolError(`the image is ${img.height}x${img.width} but the first one read is ${h}x${w}`, {
            where: pair.where, hint: 'give transform_param a crop (crop_size), or image_data_param new_height/new_width, so every image fits one size',
          });
        }
        cut(img, lab, items[i].draw, h, w, data.subarray(i * channels * h * w, (i + 1) * channels * h * w), label.subarray(i * h * w, (i + 1) * h * w));
        dims[2 * i] = Math.min(h, pair.img.height);
        dims[2 * i + 1] = Math.min(w, pair.img.width);
      });
      const out: Batch = {};
      const values = [{ data, dims: [batchSize, channels, h, w] }, { data: label, dims: [batchSize, 1, h, w] }, { data: dims, dims: [batchSize, 1, 1, 2] }];
      tops.forEach((top, k) => (out[top] = values[k]));
      return out;
    };
  };

  /** The image and its label map as read (and resized to new_height x new_width), before the draws. */
  async function load(entry: ListEntry): Promise<{ img: Pixels; lab: Pixels; where: { file: string; line: number; layer: string } }> {
    const where = { file: listFile, line: entry.line, layer: layer.name };
    const imagePath = resolve(root + entry.first);
    let img = await decodeImage(imagePath, channels, where);
    if (newH > 0 && newW > 0) img = resizeLinear(img, newH, newW);
    let lab: Pixels;
    if (labelType === 'PIXEL') {
      const labelPath = resolve(root + entry.second);
      lab = await decodeLabel(labelPath, where);
      if (newH > 0 && newW > 0) lab = resizeLinear(lab, newH, newW);
      if (lab.height !== img.height || lab.width !== img.width) {
        throw new CaffeToolError(`the label image ${labelPath} is ${lab.height}x${lab.width} but its image ${imagePath} is ${img.height}x${img.width} (rows x columns)`, {
          where, hint: 'a label image must have its image\'s size: one class per pixel',
        });
      }
    } else {
      // A label for the whole image (atoi), or ignore_label for none, in the fork's CV_8UC1 Mat.
      const value = byte(labelType === 'IMAGE' ? Number.parseInt(entry.second, 10) : ignore);
      lab = { data: new Uint8Array(img.height * img.width).fill(value), channels: 1, height: img.height, width: img.width, layout: 'hwc' };
    }
    return { img, lab, where };
  }

  /** scale_factors' rescale: both to trunc(size x factor) in float, the image INTER_LINEAR, the label INTER_NEAREST. */
  function rescale(img: Pixels, lab: Pixels, factor: number): { img: Pixels; lab: Pixels } {
    if (factor === 1) return { img, lab };
    const rows = Math.trunc(Math.fround(img.height * Math.fround(factor)));
    const cols = Math.trunc(Math.fround(img.width * Math.fround(factor)));
    return { img: resizeLinear(img, rows, cols), lab: resizeNearest(lab, rows, cols) };
  }

  /** Pad (bottom, right) to h x w, cut at the draw's offsets, mirror, and write [C, h, w] data and [h, w] label. */
  function cut(img: Pixels, lab: Pixels, draw: SegDraw, h: number, w: number, data: Float32Array, label: Float32Array): void {
    const [rows, cols] = [Math.max(img.height, h), Math.max(img.width, w)];
    const hOff = draw.cropH >= 0 ? randInt(draw.cropH, rows - h + 1) : (rows - h) >> 1;
    const wOff = draw.cropW >= 0 ? randInt(draw.cropW, cols - w + 1) : (cols - w) >> 1;
    const c = img.channels;
    const rgb = img.order === 'rgb' && c === 3;
    for (let y = 0; y < h; y++) {
      const sy = hOff + y;
      for (let x = 0; x < w; x++) {
        const sx = wOff + x;
        const inside = sy < img.height && sx < img.width;
        const o = y * w + (draw.mirror ? w - 1 - x : x);
        label[o] = inside ? lab.data[sy * lab.width + sx] : padLabel;
        for (let ch = 0; ch < c; ch++) {
          // Padding holds the mean itself, so it comes out 0.
          data[ch * h * w + o] = inside ? Math.fround(img.data[(sy * img.width + sx) * c + (rgb ? 2 - ch : ch)] - means[ch]) * scale : 0;
        }
      }
    }
  }

  return new Prefetcher(input.prefetch, plan);
}

/** OpenCV's saturate_cast<uchar>. */
const byte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
