// Data (LMDB, raw and encoded Datum) and HDF5Data against the arrays fixtures/make_data.py recorded with
// numpy, OpenCV, python3-lmdb and h5py.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaffeToolError } from '../../../src/errors.js';
import { LmdbReader } from '../../../src/train/data/lmdb.js';
import { fixture, tempDir } from '../../helpers.js';
import { maxDiff, open, ref } from './helpers.js';

const dataLayer = (source: string, batch: number, transform = '') => `
layer { name: "mnist" type: "Data" top: "data" top: "label"
  data_param { source: "${source}" batch_size: ${batch} backend: LMDB }
  ${transform} }`;

describe('Data over a Caffe LMDB', () => {
  it('reads raw Datum records in key order, as stored, with their labels', async () => {
    const src = open(dataLayer('digits_train_lmdb', 8), 'TRAIN');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [8, 1, 28, 28]);
    assert.deepEqual(b.label.dims, [8]);
    assert.equal(maxDiff(b.data.data, ref('digits_first8.npy').data), 0);
    assert.deepEqual([...b.label.data], [...ref('digits_first8_label.npy').data]);
    await src.close();
  });

  it('subtracts the mean file, then scales', async () => {
    const src = open(dataLayer('digits_train_lmdb', 8, 'transform_param { mean_file: "digits_mean.binaryproto" scale: 0.00390625 }'), 'TEST');
    const b = await src.next();
    assert.ok(maxDiff(b.data.data, ref('digits_first8_meanfile_scaled.npy').data) < 1e-6);
    await src.close();
  });

  it('decodes PNG-encoded records and crops the centre in TEST, mean value then scale', async () => {
    const src = open(dataLayer('digits_train_png_lmdb', 8, 'transform_param { crop_size: 20 mean_value: 33 scale: 0.5 }'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [8, 1, 20, 20]);
    assert.equal(maxDiff(b.data.data, ref('digits_first8_crop20_meanvalue.npy').data), 0);
    assert.deepEqual([...b.label.data], [...ref('digits_first8_label.npy').data]);
    await src.close();
  });

  it('reads records on overflow pages, one mean value per channel', async () => {
    const src = open(dataLayer('big_lmdb', 3, 'transform_param { crop_size: 32 mean_value: 10 mean_value: 20 mean_value: 30 scale: 0.25 }'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [3, 3, 32, 32]);
    assert.equal(maxDiff(b.data.data, ref('big_crop32_meanvalue.npy').data), 0);
    assert.deepEqual([...b.label.data], [5, 6, 7]);
    // Wraps around: the next batch starts at the first record again.
    assert.deepEqual([...(await src.next()).label.data], [5, 6, 7]);
    await src.close();
  });

  it('decodes colour records as stored (BGR), or forced to grey within one level of OpenCV\'s imdecode', async () => {
    const native = open(dataLayer('colour_png_lmdb', 2), 'TEST');
    const n = await native.next();
    assert.deepEqual(n.data.dims, [2, 3, 24, 32]);
    assert.equal(maxDiff(n.data.data, ref('seg_first2_bgr.npy').data), 0);
    assert.deepEqual([...n.label.data], [0, 1]);
    const grey = open(dataLayer('colour_png_lmdb', 2, 'transform_param { force_gray: true }'), 'TEST');
    const g = await grey.next();
    assert.deepEqual(g.data.dims, [2, 1, 24, 32]);
    assert.ok(maxDiff(g.data.data, ref('colour_png_grey.npy').data) <= 1);
    const colour = open(dataLayer('digits_train_png_lmdb', 8, 'transform_param { force_color: true }'), 'TEST');
    const c = await colour.next();
    assert.deepEqual(c.data.dims, [8, 3, 28, 28]);
    const first = ref('digits_first8.npy').data.subarray(0, 784);
    for (const ch of [0, 1, 2]) assert.equal(maxDiff(c.data.data.subarray(ch * 784, (ch + 1) * 784), first), 0);
    for (const s of [native, grey, colour]) await s.close();
  });

  it('reads float_data records, scaled', async () => {
    const src = open(dataLayer('float_lmdb', 2, 'transform_param { scale: 2 }'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [2, 2, 3, 4]);
    assert.deepEqual([...b.data.data], Array.from({ length: 48 }, (_, i) => ((i - 10) / 8) * 2));
    assert.deepEqual([...b.label.data], [3, 2]);
    await src.close();
  });

  it('wraps around at the end of the database, as Caffe\'s reader does', () => {
    const db = new LmdbReader(fixture('data', 'digits_test_lmdb'));
    const keys = Array.from({ length: 102 }, () => Buffer.from(db.next().key).toString());
    db.close();
    assert.equal(keys[0], '00000000');
    assert.equal(keys[99], '00000099');
    assert.deepEqual(keys.slice(100), ['00000000', '00000001']);
  });

  it('in TRAIN, crops at random places and mirrors when asked, the same way for the same seed', async () => {
    const text = dataLayer('digits_train_lmdb', 8, 'transform_param { crop_size: 20 mirror: true }');
    const [a, b, c] = [open(text, 'TRAIN', { seed: 5 }), open(text, 'TRAIN', { seed: 5 }), open(text, 'TRAIN', { seed: 6 })];
    const [ba, bb, bc] = [await a.next(), await b.next(), await c.next()];
    assert.deepEqual(ba.data.data, bb.data.data);
    assert.notDeepEqual(ba.data.data, bc.data.data);
    // Each item is a 20x20 window of its image, maybe flipped left-right.
    const full = ref('digits_first8.npy').data;
    const windows = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const item = ba.data.data.subarray(i * 400, (i + 1) * 400);
      const found = windowOf(full.subarray(i * 784, (i + 1) * 784), 28, item, 20);
      assert.ok(found, `item ${i} is not a window of its image`);
      windows.add(found);
    }
    assert.ok(windows.size > 2, 'the crops should not all be at one place');
    for (const s of [a, b, c]) await s.close();
  });

  it('names the path of a database that does not exist or is empty', () => {
    assert.throws(() => open(dataLayer('no_such_lmdb', 1), 'TRAIN'), (e: CaffeToolError) => /cannot open the LMDB .*no_such_lmdb/.test(e.message) && e.where.layer === 'mnist');
    assert.throws(() => open(dataLayer('empty_lmdb', 1), 'TRAIN'), (e: CaffeToolError) => /the LMDB .*empty_lmdb is empty/.test(e.message));
  });

  it('refuses the LevelDB default backend with the fix when the source is an LMDB', () => {
    const text = 'layer { name: "d" type: "Data" top: "data" data_param { source: "digits_test_lmdb" batch_size: 1 } }';
    assert.throws(() => open(text, 'TEST'), (e: CaffeToolError) => /backend is LEVELDB \(the default\)/.test(e.message) && /add `backend: LMDB`/.test(e.hint ?? ''));
  });
});

/** "h,w,m" when `item` (k x k) is the window of `img` (n x n) at (h, w), mirrored when m; else undefined. */
function windowOf(img: Float32Array, n: number, item: Float32Array, k: number): string | undefined {
  for (let h = 0; h <= n - k; h++) {
    for (let w = 0; w <= n - k; w++) {
      for (const m of [false, true]) {
        let same = true;
        for (let y = 0; y < k && same; y++) {
          for (let x = 0; x < k && same; x++) same = item[y * k + (m ? k - 1 - x : x)] === img[(h + y) * n + w + x];
        }
        if (same) return `${h},${w},${m}`;
      }
    }
  }
  return undefined;
}

describe('HDF5Data', () => {
  const layer = (batch: number, shuffle = false) => `
layer { name: "h5" type: "HDF5Data" top: "data" top: "label"
  hdf5_data_param { source: "digits_train_h5.txt" batch_size: ${batch} shuffle: ${shuffle} } }`;

  it('reads the datasets named by the tops, as float, across the listed files', async () => {
    const src = open(layer(8), 'TRAIN');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [8, 1, 28, 28]);
    assert.deepEqual(b.label.dims, [8]);
    const first = ref('digits_first8.npy').data;
    assert.equal(maxDiff(b.data.data, first.map((v) => v / 256)), 0);
    assert.deepEqual([...b.label.data], [...ref('digits_first8_label.npy').data]);
    await src.close();
  });

  it('crosses from one file to the next and wraps to the first, matching the same rows of the LMDB', async () => {
    const h5 = open(layer(64), 'TRAIN');
    const db = open(dataLayer('digits_train_lmdb', 64, 'transform_param { scale: 0.00390625 }'), 'TRAIN');
    // 5 batches of 64 = 320 rows: file 0 (200 rows), file 1 (100), then file 0 again.
    for (let i = 0; i < 5; i++) {
      const [a, b] = [await h5.next(), await db.next()];
      assert.equal(maxDiff(a.data.data, b.data.data), 0, `batch ${i}`);
      assert.deepEqual(a.label.data, b.label.data);
    }
    await h5.close();
    await db.close();
  });

  it('with shuffle, an epoch is a permutation of the rows, repeatable by seed', async () => {
    const labels = async (seed: number) => {
      const src = open(layer(100, true), 'TRAIN', { seed });
      const out: number[] = [];
      for (let i = 0; i < 3; i++) out.push(...(await src.next()).label.data);
      await src.close();
      return out;
    };
    const plain = open(layer(300), 'TRAIN');
    const all = [...(await plain.next()).label.data];
    await plain.close();
    const [a, b, c] = [await labels(3), await labels(3), await labels(4)];
    assert.deepEqual([...a].sort(), [...all].sort());
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, all);
    assert.notDeepEqual(a, c);
  });

  it('finds listed files beside the list when they are not under the base folder', async () => {
    const src = open(layer(8).replace('"digits_train_h5.txt"', `"${fixture('data', 'digits_train_h5.txt')}"`), 'TRAIN', { baseDir: tempDir() });
    assert.deepEqual([...(await src.next()).label.data], [...ref('digits_first8_label.npy').data]);
    await src.close();
  });

  it('refuses transform_param, as Caffe does', () => {
    const text = layer(1).replace('hdf5_data_param', 'transform_param { scale: 2 } hdf5_data_param');
    assert.throws(() => open(text, 'TRAIN'), /HDF5Data does not transform data/);
  });
});
