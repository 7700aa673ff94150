// ImageData (image_data_layer.cpp): the images of a "path label" list, read in colour or grey, resized to
// new_height x new_width when given, transformed; label top = the list's integer labels. With shuffle the list
// is shuffled at the start and again at every wrap-around; without it, rand_skip skips a random number of
// lines at the start. Every image of a batch must come out the size of the batch's first.
import { CaffeToolError } from '../../errors.js';
import { decodeImage, resizeLinear } from '../../io/image.js';
import { ListCursor, type ListEntry, readImageList } from './list.js';
import type { LayerInput } from './index.js';
import { type Batch, Prefetcher } from './source.js';
import type { Pixels } from '../../io/image.js';
import type { Draw } from './transform.js';

export function openImageData(input: LayerInput): Prefetcher {
  const { layer, params, rng, transformer, resolve } = input;
  const p = params('image_data_param');
  const listFile = resolve(p.str('source'));
  const lines = readImageList(listFile);
  const batchSize = p.num('batch_size');
  const [newH, newW] = [p.num('new_height'), p.num('new_width')];
  const color = p.bool('is_color');
  const root = p.str('root_folder');
  const cursor = new ListCursor(lines, p.bool('shuffle'), rng, p.num('rand_skip'));

  const plan = () => {
    const items: { entry: ListEntry; draw: Draw }[] = [];
    for (let i = 0; i < batchSize; i++) {
      const entry = cursor.next();
      items.push({ entry, draw: transformer.draw(rng) });
    }
    return async (): Promise<Batch> => {
      const images = await Promise.all(items.map(async ({ entry }) => {
        const where = { file: listFile, line: entry.line, layer: layer.name };
        let img: Pixels = await decodeImage(resolve(root + entry.first), color ? 3 : 1, where);
        if (newH > 0 && newW > 0) img = resizeLinear(img, newH, newW);
        return img;
      }));
      const batch: Batch = {
        [layer.tops[0]]: transformer.batch(images, items.map((it) => it.draw), (i, img, first) =>
          new CaffeToolError(`${items[i].entry.first} is ${img.height}x${img.width} but the first image of its batch is ${first.height}x${first.width}`, {
            where: { file: listFile, line: items[i].entry.line, layer: layer.name },
            hint: 'images of one batch must have one size: set image_data_param new_height/new_width, or a transform_param crop_size',
          })),
      };
      if (layer.tops[1]) batch[layer.tops[1]] = { data: Float32Array.from(items, (it) => Number(it.entry.second)), dims: [batchSize] };
      return batch;
    };
  };
  return new Prefetcher(input.prefetch, plan);
}
