// SegNet's DenseImageData (dense_image_data_layer.cpp in alexgkendall/caffe-segnet): pairs of an image and a
// label image from an "image label_image" list. Both are resized to new_height x new_width when given (the
// image bilinearly, the label nearest-neighbour: classes are never blended), mirrored together when
// dense_image_data_param.mirror is set, and cut by the same crop_height x crop_width window. The image then
// goes through transform_param (mean, scale); the label top holds the label image's values untouched,
// [batch, 1, H, W]. A departure from the fork, on purpose: the fork crops at a random place in both phases;
// here TEST crops the centre, as Caffe's DataTransformer does. ENet's variant
// (its dialect) also reads the label label_divide_factor times smaller.
import { CaffeToolError } from '../../errors.js';
import { decodeImage, decodeLabel, resizeLinear, resizeNearest } from '../../io/image.js';
import { ListCursor, type ListEntry, readPairList } from './list.js';
import type { LayerInput } from './index.js';
import { type Batch, Prefetcher, randInt } from './source.js';
import type { Pixels } from '../../io/image.js';
import type { Draw } from './transform.js';

export function openDenseImageData(input: LayerInput): Prefetcher {
  const { layer, params, rng, transformer, resolve, phase } = input;
  const p = params('dense_image_data_param');
  const listFile = resolve(p.str('source'));
  const pairs = readPairList(listFile);
  const batchSize = p.num('batch_size');
  const [newH, newW] = [p.num('new_height'), p.num('new_width')];
  const [cropH, cropW] = [p.num('crop_height'), p.num('crop_width')];
  const color = p.bool('is_color');
  const mirror = p.bool('mirror');
  const root = p.str('root_folder');
  // ENet's fork reads the label smaller, by label_divide_factor (for training the encoder alone).
  const divide = p.info.byName.has('label_divide_factor') ? p.num('label_divide_factor') : 1;
  if (divide > 1 && cropH > 0) {
    throw new CaffeToolError(`dense_image_data_param has label_divide_factor ${divide} and a crop: ENet's layer cannot crop a divided label either`, { where: { layer: layer.name } });
  }
  if (transformer.crop > 0 || transformer.mirror) {
    throw new CaffeToolError('DenseImageData cannot use transform_param crop_size or mirror: the image and its label would be cut differently', {
      where: { layer: layer.name },
      hint: 'use dense_image_data_param crop_height/crop_width and mirror, which move both together',
    });
  }
  const cursor = new ListCursor(pairs, p.bool('shuffle'), rng, p.num('rand_skip'));

  const plan = () => {
    const items: { entry: ListEntry; draw: Draw }[] = [];
    for (let i = 0; i < batchSize; i++) {
      const entry = cursor.next();
      const m = mirror && rng.uniform() < 0.5;
      const random = cropH > 0 && phase === 'TRAIN';
      items.push({ entry, draw: { mirror: m, cropH: random ? rng.uniform() : -1, cropW: random ? rng.uniform() : -1 } });
    }
    return async (): Promise<Batch> => {
      const loaded = await Promise.all(items.map(async ({ entry }) => {
        const where = { file: listFile, line: entry.line, layer: layer.name };
        const imagePath = resolve(root + entry.first);
        const labelPath = resolve(root + entry.second);
        let [img, lab] = await Promise.all([decodeImage(imagePath, color ? 3 : 1, where), decodeLabel(labelPath, where)]);
        if (img.height !== lab.height || img.width !== lab.width) {
          throw new CaffeToolError(`the label image ${labelPath} is ${lab.width}x${lab.height} but its image ${imagePath} is ${img.width}x${img.height} (width x height)`, {
            where,
            hint: 'a label image must have its image\'s size: one class per pixel',
          });
        }
        if (newH > 0 && newW > 0) img = resizeLinear(img, newH, newW);
        lab = resizeNearest(lab, Math.floor(img.height / divide), Math.floor(img.width / divide));
        return { img, lab, where };
      }));
      const first = loaded[0].img;
      const [h, w] = cropH > 0 ? [cropH, cropW] : [first.height, first.width];
      const c = first.channels;
      const data = new Float32Array(batchSize * c * h * w);
      const [lh, lw] = [Math.floor(h / divide), Math.floor(w / divide)];
      const label = new Float32Array(batchSize * lh * lw);
      loaded.forEach(({ img, lab, where }, i) => {
        if (cropH > 0 ? img.height < cropH || img.width < cropW : img.height !== h || img.width !== w) {
          throw new CaffeToolError(
            cropH > 0
              ? `the image is ${img.height}x${img.width}, smaller than crop_height x crop_width ${cropH}x${cropW}`
              : `the image is ${img.height}x${img.width} but the first of its batch is ${h}x${w}`,
            { where, hint: 'set dense_image_data_param new_height/new_width to give every image one size' },
          );
        }
        const { mirror: m, cropH: uh, cropW: uw } = items[i].draw;
        const hOff = cropH > 0 ? (uh >= 0 ? randInt(uh, img.height - h + 1) : (img.height - h) >> 1) : 0;
        const wOff = cropH > 0 ? (uw >= 0 ? randInt(uw, img.width - w + 1) : (img.width - w) >> 1) : 0;
        const [cutImg, cutLab] = [cut(img, hOff, wOff, h, w, m), cut(lab, hOff, wOff, lh, lw, m)];
        transformer.apply(cutImg, { mirror: false, cropH: -1, cropW: -1 }, data, i * c * h * w);
        label.set(cutLab.data, i * lh * lw);
      });
      return {
        [layer.tops[0]]: { data, dims: [batchSize, c, h, w] },
        [layer.tops[1]]: { data: label, dims: [batchSize, 1, lh, lw] },
      };
    };
  };
  return new Prefetcher(input.prefetch, plan);
}

/** The h x w window at (hOff, wOff), flipped left-right when `mirror`: cv::flip then cv::Rect, as the fork does. */
function cut(img: Pixels, hOff: number, wOff: number, h: number, w: number, mirror: boolean): Pixels {
  const c = img.channels;
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // The fork flips the whole image first, so the window is taken from the flipped image.
      const sx = mirror ? img.width - 1 - (wOff + x) : wOff + x;
      for (let ch = 0; ch < c; ch++) out[(y * w + x) * c + ch] = img.data[((hOff + y) * img.width + sx) * c + ch];
    }
  }
  return { data: out, channels: c, height: h, width: w, layout: 'hwc', order: img.order };
}
