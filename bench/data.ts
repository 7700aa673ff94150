// bench/data: images per second the training data layers deliver (read, decode, transform, batch, with
// prefetching), against decoding the same images alone with sharp, in the same run:
//   - ImageData over the fixture digit PNG list (28x28 grey) and over 256x256 colour JPEGs written here;
//   - Data over the fixture PNG-encoded LMDB;
// each with a TRAIN transform (random crop, mirror, mean values, scale). The baseline decodes the same files
// with sharp to raw pixels, one after the other and 64 at a time, and nothing else. `-- --batches 20 --rounds 3`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeMessage } from '../src/io/binary/decode.js';
import { parseCaffeText } from '../src/io/files.js';
import { dialectSchema, messageInfo } from '../src/io/schema.js';
import { buildNet } from '../src/net/net.js';
import { openDataLayer } from '../src/train/data/index.js';
import { LmdbReader } from '../src/train/data/lmdb.js';

const DATA = fileURLToPath(new URL('../../fixtures/data/', import.meta.url));
const BATCHES = Number(process.argv[process.argv.indexOf('--batches') + 1]) || 20;
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;

async function layerRate(text: string, baseDir: string, batch: number, batches = BATCHES): Promise<number> {
  const file = parseCaffeText(text, { kinds: ['net'] });
  const net = buildNet(file.message, { phase: 'TRAIN', dialect: file.dialect });
  const src = openDataLayer(net.layers[0], net, { phase: 'TRAIN', seed: 1, baseDir });
  await src.next(); // warm-up: first decode, sharp's start
  const t = performance.now();
  for (let i = 0; i < batches; i++) await src.next();
  const rate = (batches * batch) / ((performance.now() - t) / 1000);
  await src.close();
  return rate;
}

/** sharp alone on the same encoded images: sequentially, and `parallel` at a time. */
async function sharpRate(images: Buffer[], count: number, parallel: number): Promise<number> {
  await sharp(images[0]).raw().toBuffer();
  const t = performance.now();
  for (let i = 0; i < count; i += parallel) {
    const group = Array.from({ length: Math.min(parallel, count - i) }, (_, k) => images[(i + k) % images.length]);
    await Promise.all(group.map((b) => sharp(b).raw().toBuffer()));
  }
  return count / ((performance.now() - t) / 1000);
}

const imageLayer = (source: string, root: string, batch: number, color: boolean, crop: number, means: number[]) => `
layer { name: "d" type: "ImageData" top: "data" top: "label"
  image_data_param { source: "${source}" root_folder: "${root}" batch_size: ${batch} is_color: ${color} shuffle: true }
  transform_param { crop_size: ${crop} mirror: true ${means.map((m) => `mean_value: ${m}`).join(' ')} scale: 0.017 } }`;

const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-bench-data-'));
try {
  const rows: [string, number, number, number][] = [];
  // Best of ROUNDS, the three measured in turn each round, so that a load change on a shared machine hits
  // the layer and its baseline alike.
  const line = async (name: string, layer: () => Promise<number>, seq: () => Promise<number>, par: () => Promise<number>) => {
    const best = [0, 0, 0];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [k, f] of [layer, seq, par].entries()) best[k] = Math.max(best[k], await f());
    }
    rows.push([name, best[0], best[1], best[2]]);
  };

  // The fixture digits: 300 PNGs, 28x28 grey.
  const list = readFileSync(join(DATA, 'digits_train.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
  const pngs = list.map((p) => readFileSync(join(DATA, 'digits_png', p)));
  const n = BATCHES * 64;
  await line('ImageData, digit PNGs 28x28 grey, crop 24', () => layerRate(imageLayer('digits_train.txt', 'digits_png/', 64, false, 24, [33]), DATA, 64), () => sharpRate(pngs, n, 1), () => sharpRate(pngs, n, 64));

  // The same digits as PNG-encoded Datum records in an LMDB.
  const db = new LmdbReader(join(DATA, 'digits_train_png_lmdb'));
  const datum = messageInfo(dialectSchema('bvlc'), 'Datum');
  const encoded = Array.from({ length: db.entries }, () => Buffer.from(decodeMessage(db.next().value, datum, { view: false }).data as Uint8Array));
  db.close();
  const lmdbLayer = `layer { name: "d" type: "Data" top: "data" top: "label"
    data_param { source: "digits_train_png_lmdb" batch_size: 64 backend: LMDB }
    transform_param { crop_size: 24 mirror: true mean_value: 33 scale: 0.017 } }`;
  await line('Data, PNG-encoded LMDB 28x28 grey, crop 24', () => layerRate(lmdbLayer, DATA, 64), () => sharpRate(encoded, n, 1), () => sharpRate(encoded, n, 64));

  // ImageNet-like: 64 colour JPEGs 256x256, cropped to 224.
  const jpegs: Buffer[] = [];
  const lines: string[] = [];
  for (let i = 0; i < 64; i++) {
    const pixels = Buffer.alloc(256 * 256 * 3);
    for (let k = 0; k < pixels.length; k++) pixels[k] = (k * (i + 7) + (k >> 9) * 31) & 255;
    const jpeg = await sharp(pixels, { raw: { width: 256, height: 256, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
    writeFileSync(join(dir, `${i}.jpg`), jpeg);
    jpegs.push(jpeg);
    lines.push(`${i}.jpg ${i % 10}`);
  }
  writeFileSync(join(dir, 'list.txt'), `${lines.join('\n')}\n`);
  const big = Math.max(4, Math.floor(BATCHES / 4));
  await line('ImageData, JPEG 256x256 colour, crop 224', () => layerRate(imageLayer('list.txt', '', 32, true, 224, [104, 117, 123]), dir, 32, big), () => sharpRate(jpegs, big * 32, 1), () => sharpRate(jpegs, big * 32, 64));

  console.log(`data layers against sharp decoding alone (images/s, best of ${ROUNDS} rounds; ${cpus().length} CPUs, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'})`);
  console.log(`${'source'.padEnd(44)} ${'layer'.padStart(9)} ${'sharp 1x'.padStart(9)} ${'sharp 64x'.padStart(9)}  layer/sharp 1x  layer/sharp 64x`);
  for (const [name, layer, seq, par] of rows) {
    console.log(`${name.padEnd(44)} ${layer.toFixed(0).padStart(9)} ${seq.toFixed(0).padStart(9)} ${par.toFixed(0).padStart(9)}  ${(layer / seq).toFixed(2).padStart(13)}x  ${(layer / par).toFixed(2).padStart(14)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
