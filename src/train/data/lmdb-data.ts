// Data (data_layer.cpp) over an LMDB of Caffe Datum records, in key order, wrapping around at the end as
// Caffe's DataReader does (no shuffle: convert_imageset --shuffle shuffles when the database is written).
// A Datum holds raw uint8 `data` (C x H x W), or `float_data`, or an encoded JPEG/PNG when `encoded` is set,
// decoded in colour or grey by transform_param force_color/force_gray, else as stored. The records are read
// when a batch is planned; decoding and the transform happen in the prefetch queue.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CaffeToolError } from '../../errors.js';
import { decodeMessage } from '../../io/binary/decode.js';
import type { Message } from '../../io/message.js';
import { dialectSchema, messageInfo } from '../../io/schema.js';
import { decodeImage } from '../../io/image.js';
import { LmdbReader } from './lmdb.js';
import type { LayerInput } from './index.js';
import { type Batch, Prefetcher } from './source.js';
import type { Pixels } from '../../io/image.js';
import type { Draw } from './transform.js';

const DATUM = messageInfo(dialectSchema('bvlc'), 'Datum');

export function openLmdbData(input: LayerInput): Prefetcher {
  const { layer, params, rng, transformer, resolve } = input;
  const p = params('data_param');
  const batchSize = p.num('batch_size');
  const source = resolve(p.str('source'));
  const backend = p.str('backend');
  if (backend !== 'LMDB') {
    const isLmdb = existsSync(join(source, 'data.mdb'));
    throw new CaffeToolError(`data_param.backend is ${backend}${p.has('backend') ? '' : ' (the default)'}: caffe-tool reads LMDB databases only`, {
      where: { layer: layer.name },
      hint: isLmdb
        ? `${source} is an LMDB: add \`backend: LMDB\` to data_param, as Caffe needs too`
        : 'convert the LevelDB with Caffe\'s convert_imageset -backend lmdb, or write an LMDB from Python',
    });
  }
  const db = new LmdbReader(source);
  const channels = transformer.forceColor ? 3 : transformer.forceGray ? 1 : 'native';

  const plan = () => {
    const items: { key: string; datum: Message; draw: Draw }[] = [];
    for (let i = 0; i < batchSize; i++) {
      const { key, value } = db.next();
      const name = Buffer.from(key).toString('latin1');
      let datum: Message;
      try {
        datum = decodeMessage(value, DATUM, { view: false });
      } catch (e) {
        throw new CaffeToolError(`record '${name}' is not a Caffe Datum: ${(e as Error).message}`, { where: { file: source, layer: layer.name }, cause: e });
      }
      items.push({ key: name, datum, draw: transformer.draw(rng) });
    }
    return async (): Promise<Batch> => {
      const images = await Promise.all(items.map(({ key, datum }) => datumPixels(datum, channels, { file: source, layer: layer.name, path: `record '${key}'` })));
      const batch: Batch = {
        [layer.tops[0]]: transformer.batch(images, items.map((it) => it.draw), (i, img, first) =>
          new CaffeToolError(`record '${items[i].key}' is ${img.channels}x${img.height}x${img.width} but the first of its batch is ${first.channels}x${first.height}x${first.width}`, {
            where: { file: source, layer: layer.name },
            hint: 'records of one batch must have one size: resize when writing the database, or set a transform_param crop_size',
          })),
      };
      if (layer.tops[1]) batch[layer.tops[1]] = { data: Float32Array.from(items, (it) => Number(it.datum.label ?? 0)), dims: [batchSize] };
      return batch;
    };
  };
  return new Prefetcher(input.prefetch, plan, () => db.close());
}

/** A Datum's pixels: decoded when encoded, else its C x H x W bytes or floats as they are. */
async function datumPixels(datum: Message, channels: 1 | 3 | 'native', where: { file: string; layer: string; path: string }): Promise<Pixels> {
  const bytes = datum.data as Uint8Array | undefined;
  if (datum.encoded) {
    if (!bytes?.length) throw new CaffeToolError('an encoded Datum with no data', { where });
    return decodeImage(bytes, channels, where);
  }
  const [c, h, w] = [Number(datum.channels ?? 0), Number(datum.height ?? 0), Number(datum.width ?? 0)];
  const floats = datum.float_data as Float32Array | undefined;
  const data = bytes?.length ? bytes : floats;
  if (!(c > 0 && h > 0 && w > 0) || !data || data.length !== c * h * w) {
    throw new CaffeToolError(`the Datum says ${c}x${h}x${w} but holds ${data?.length ?? 0} values`, { where });
  }
  return { data, channels: c, height: h, width: w, layout: 'chw' };
}
