// A source opened with `skip: n` gives what an unskipped one gives from its batch n on (a resumed run reads
// what the uninterrupted one read), for every layer type that moves a cursor or draws random numbers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Batch } from '../../../src/train/data/index.js';
import { open } from './helpers.js';

const LAYERS: Record<string, string> = {
  ImageData: `layer { name: "a" type: "ImageData" top: "data" top: "label"
    image_data_param { source: "digits_test.txt" root_folder: "digits_png/" batch_size: 20 is_color: false shuffle: true }
    transform_param { crop_size: 24 mirror: true } }`,
  Data: `layer { name: "b" type: "Data" top: "data" top: "label"
    data_param { source: "digits_test_png_lmdb" batch_size: 20 backend: LMDB } transform_param { crop_size: 20 mirror: true } }`,
  DenseImageData: `layer { name: "c" type: "DenseImageData" top: "data" top: "label"
    dense_image_data_param { source: "seg_train.txt" root_folder: "seg/" batch_size: 3 shuffle: true mirror: true crop_height: 16 crop_width: 16 } }`,
  ImageSegData: `layer { name: "f" type: "ImageSegData" top: "data" top: "label" top: "dim"
    image_data_param { source: "seg_train.txt" root_folder: "seg/" batch_size: 3 shuffle: true label_type: PIXEL }
    transform_param { crop_size: 20 mirror: true scale_factors: 0.75 scale_factors: 1 mean_value: 100 } }`,
  HDF5Data: `layer { name: "d" type: "HDF5Data" top: "data" top: "label"
    hdf5_data_param { source: "digits_train_h5.txt" batch_size: 70 shuffle: true } }`,
  DummyData: `layer { name: "e" type: "DummyData" top: "x" dummy_data_param { data_filler { type: "gaussian" } shape { dim: 4 dim: 5 } } }`,
};

describe('skip', () => {
  for (const [type, text] of Object.entries(LAYERS)) {
    it(`${type}: batches 3, 4, 5 of a plain source are batches 0, 1, 2 after skip: 3`, async () => {
      const plain = open(text, 'TRAIN', { seed: 11 });
      const all: Batch[] = [];
      for (let i = 0; i < 6; i++) all.push(await plain.next());
      const skipped = open(text, 'TRAIN', { seed: 11, skip: 3 });
      for (let i = 0; i < 3; i++) {
        const b = await skipped.next();
        for (const top of Object.keys(b)) assert.deepEqual(b[top], all[i + 3][top], `${top}, batch ${i + 3}`);
      }
      assert.notDeepEqual(all[0], all[3]);
      await Promise.all([plain.close(), skipped.close()]);
    });
  }
});
