// DeepLab's ImageSegData against what OpenCV gave fixtures/make_data.py (cv2.imread, cv2.resize), with the
// padding, crops and data_dim of image_seg_data_layer.cpp and TransformImgAndSeg worked out by hand.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CaffeToolError } from '../../../src/errors.js';
import type { Batch } from '../../../src/train/data/index.js';
import { tempDir } from '../../helpers.js';
import { DATA, findWindow, maxDiff, open, ref } from './helpers.js';

const seg = (param = '', transform = '', source = 'seg_train.txt') => `
layer { name: "seg" type: "ImageSegData" top: "data" top: "label" top: "data_dim"
  image_data_param { source: "${source}" root_folder: "seg/" batch_size: 2 label_type: PIXEL ${param} }
  transform_param { ${transform} } }`;

// DeepLab's mean values: not whole numbers, so float and double arithmetic part ways on some pixels.
const MEAN = [104.008, 116.669, 122.675].map(Math.fround);
const SCALE = Math.fround(0.017);
/** The fork's Dtype arithmetic: (pixel - mean) x scale in float. */
const value = (pixel: number, c: number) => Math.fround(Math.fround(pixel - MEAN[c]) * SCALE);

describe('ImageSegData', () => {
  it('TEST, crop 28 of 24x32 images: 4 rows of padding (0 after the mean, label 255), the centre 28 columns (offset 2); data_dim 24, 28', async () => {
    const src = open(seg('', 'crop_size: 28 mean_value: 104.008 mean_value: 116.669 mean_value: 122.675 scale: 0.017'), 'TEST');
    const b = await src.next();
    await src.close();
    assert.deepEqual(b.data.dims, [2, 3, 28, 28]);
    assert.deepEqual(b.label.dims, [2, 1, 28, 28]);
    assert.deepEqual([...b.data_dim.data], [24, 28, 24, 28]);
    const [bgr, lab] = [ref('seg_first2_bgr.npy').data, ref('seg_first2_label.npy').data];
    for (let i = 0; i < 2; i++) assert.equal(windowAt(b, i, bgr, lab, 2), true, `item ${i}`);
  });

  it('TRAIN, crop 28 of 24x32: the padded rows stay at the bottom, the columns move at random (0..4)', async () => {
    const [bgr, lab] = [ref('seg_first2_bgr.npy').data, ref('seg_first2_label.npy').data];
    const offsets = new Set<number>();
    for (let seed = 1; seed <= 4; seed++) {
      const src = open(seg('', 'crop_size: 28 mean_value: 104.008 mean_value: 116.669 mean_value: 122.675 scale: 0.017'), 'TRAIN', { seed });
      const b = await src.next();
      await src.close();
      for (let i = 0; i < 2; i++) {
        const at = [0, 1, 2, 3, 4].find((w) => windowAt(b, i, bgr, lab, w));
        assert.ok(at !== undefined, `seed ${seed}, item ${i}: no column offset fits`);
        offsets.add(at);
      }
    }
    assert.ok(offsets.size > 1, 'the offset moves');
  });

  it('(pixel - mean) x scale in float, as the fork\'s Dtype arithmetic (not in double): every grey level 0..255', async () => {
    const dir = tempDir();
    await sharp(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, 'ramp.png'));
    writeFileSync(join(dir, 'list.txt'), `${join(dir, 'ramp.png')}\n`);
    const text = seg('is_color: false', 'mean_value: 104.008 scale: 0.017', join(dir, 'list.txt')).replace('root_folder: "seg/"', '').replace('batch_size: 2', 'batch_size: 1').replace('label_type: PIXEL', 'label_type: NONE');
    const src = open(text, 'TEST');
    const b = await src.next();
    await src.close();
    const m = Math.fround(104.008);
    const wrong = [...b.data.data].filter((v, p) => v !== Math.fround(Math.fround(p - m) * SCALE)).length;
    assert.equal(wrong, 0, `${wrong} of 256 grey levels differ from float arithmetic`);
    assert.ok([...b.data.data].some((_, p) => Math.fround(Math.fround(p - m) * SCALE) !== Math.fround((p - m) * SCALE)), 'double arithmetic would differ somewhere');
  });

  it('new_height/new_width resize the image and the label by INTER_LINEAR (not nearest, as DenseImageData does)', async () => {
    const src = open(seg('new_height: 16 new_width: 20'), 'TEST');
    const b = await src.next();
    await src.close();
    assert.deepEqual(b.data.dims, [2, 3, 16, 20]);
    assert.equal(maxDiff(b.data.data.subarray(0, 960), ref('seg_resize_16x20_bgr.npy').data), 0);
    const linear = ref('seg_label_linear_16x20.npy').data;
    assert.equal(maxDiff(b.label.data.subarray(0, 320), linear), 0);
    assert.ok(maxDiff(linear, ref('seg_resize_16x20_label.npy').data) > 0, 'the linear and nearest labels differ here');
    assert.deepEqual([...b.data_dim.data], [16, 20, 16, 20]);
  });

  it('scale_factors 0.5: 24x32 -> 12x16 (image INTER_LINEAR, label INTER_NEAREST), then padded to crop 14 and cut at the centre', async () => {
    const src = open(seg('batch_size: 1', 'crop_size: 14 scale_factors: 0.5').replace('batch_size: 2 ', ''), 'TEST');
    const b = await src.next();
    await src.close();
    const [bgr, lab] = [ref('seg_half_bgr.npy').data, ref('seg_half_label.npy').data];
    // Rows 0..11 of 12 and 2 of padding; columns 1..14 of 16.
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 14; x++) {
        assert.equal(b.label.data[y * 14 + x], y < 12 ? lab[y * 16 + x + 1] : 255);
        for (let c = 0; c < 3; c++) assert.equal(b.data.data[(c * 14 + y) * 14 + x], y < 12 ? bgr[(c * 12 + y) * 16 + x + 1] : 0);
      }
    }
    // data_dim: the size before the rescale, at most the crop.
    assert.deepEqual([...b.data_dim.data], [14, 14]);
  });

  it('scale_factors 0.5 and 1 are drawn per image: each item is the half image\'s centre or the whole one\'s', async () => {
    const dir = tempDir();
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${join(DATA, 'seg/img_0.png')} ${join(DATA, 'seg/label_0.png')}\n`);
    const [half, whole] = [ref('seg_half_bgr.npy').data, ref('seg_first2_bgr.npy').data];
    const seen = new Set<string>();
    for (let seed = 1; seed <= 3; seed++) {
      const text = seg('', 'crop_size: 14 scale_factors: 0.5 scale_factors: 1', list).replace('root_folder: "seg/"', '').replace('batch_size: 2', 'batch_size: 4');
      const src = open(text, 'TEST', { seed });
      const b = await src.next();
      await src.close();
      for (let i = 0; i < 4; i++) {
        const item = b.data.data.subarray(i * 588, (i + 1) * 588);
        // Half: 12x16, rows 0..11 then padding, columns from 1; whole: rows from (24 - 14) / 2 = 5, columns from 9.
        const isHalf = [...item].every((v, k) => {
          const [c, y, x] = [Math.floor(k / 196), Math.floor(k / 14) % 14, k % 14];
          return v === (y < 12 ? half[(c * 12 + y) * 16 + x + 1] : 0);
        });
        const isWhole = [...item].every((v, k) => {
          const [c, y, x] = [Math.floor(k / 196), Math.floor(k / 14) % 14, k % 14];
          return v === whole[(c * 24 + y + 5) * 32 + x + 9];
        });
        assert.ok(isHalf !== isWhole, `seed ${seed}, item ${i}: half ${isHalf}, whole ${isWhole}`);
        seen.add(isHalf ? 'half' : 'whole');
      }
    }
    assert.equal(seen.size, 2, 'both factors drawn in 12 images');
  });

  it('scale_factors other than 1 without a crop are refused: the batches would have no one size', () => {
    assert.throws(() => open(seg('', 'scale_factors: 0.5 scale_factors: 1'), 'TRAIN'), /scale_factors rescale every image, so ImageSegData needs a crop/);
  });

  it('TRAIN: the random window and the mirror cut the image and its label alike', async () => {
    const [bgr, lab] = [ref('seg_first2_bgr.npy').data, ref('seg_first2_label.npy').data];
    const seen = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      const src = open(seg('', 'mirror: true crop_height: 16 crop_width: 20'), 'TRAIN', { seed });
      const b = await src.next();
      await src.close();
      for (let i = 0; i < 2; i++) {
        const found = findWindow(b.data.data.subarray(i * 960, (i + 1) * 960), bgr, i);
        assert.ok(found, `seed ${seed}, item ${i}: not a window of its image`);
        const [h, w, m] = found;
        for (let y = 0; y < 16; y++) {
          for (let x = 0; x < 20; x++) assert.equal(b.label.data[i * 320 + y * 20 + x], lab[i * 768 + (h + y) * 32 + (m ? 31 - (w + x) : w + x)]);
        }
        seen.add(`${h},${w},${m}`);
      }
    }
    assert.equal(new Set([...seen].map((s) => s.split(',')[2])).size, 2, 'both mirrored and plain items in 12 draws');
    assert.ok(seen.size > 4, 'the windows move');
  });

  it('label_type IMAGE fills the map with the line\'s label, NONE with ignore_label; a bad line is named', async () => {
    const dir = tempDir();
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${join(DATA, 'seg/img_0.png')} 2\n`);
    const one = (param: string) => seg(param, '', list).replace('root_folder: "seg/"', '').replace('batch_size: 2', 'batch_size: 1');
    const image = open(one('').replace('label_type: PIXEL', 'label_type: IMAGE'), 'TEST');
    assert.deepEqual(new Set((await image.next()).label.data), new Set([2]));
    await image.close();
    const none = open(one('ignore_label: 7').replace('label_type: PIXEL', 'label_type: NONE'), 'TEST');
    assert.deepEqual(new Set((await none.next()).label.data), new Set([7]));
    await none.close();
    writeFileSync(list, `${join(DATA, 'seg/img_0.png')} 2\n${join(DATA, 'seg/img_1.png')} two\n`);
    assert.throws(() => open(one('').replace('label_type: PIXEL', 'label_type: IMAGE'), 'TEST'), (e: CaffeToolError) => {
      assert.match(e.message, /label_type IMAGE needs an integer label after the image, got 'two'/);
      assert.equal(e.where.line, 2);
      return true;
    });
  });

  it('without a crop, an image of another size than the first is refused, naming its list line', async () => {
    const dir = tempDir();
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${join(DATA, 'seg/img_0.png')} ${join(DATA, 'seg/label_0.png')}\n${join(DATA, 'digits_png/train/00000.png')} ${join(DATA, 'digits_png/train/00000.png')}\n`);
    const src = open(seg('', '', list).replace('root_folder: "seg/"', '').replace('label_type: PIXEL', 'label_type: PIXEL is_color: false'), 'TEST');
    await assert.rejects(src.next(), (e: CaffeToolError) => {
      assert.match(e.message, /the image is 28x28 but the first one read is 24x32/);
      assert.equal(e.where.line, 2);
      return true;
    });
    await src.close();
  });
});

/** Whether item i of a crop-28 batch is seg image i's window at column offset `w`: 24 image rows, 4 of padding. */
function windowAt(b: Batch, i: number, bgr: Float32Array, lab: Float32Array, w: number): boolean {
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const inside = y < 24;
      if (b.label.data[(i * 28 + y) * 28 + x] !== (inside ? lab[i * 768 + y * 32 + x + w] : 255)) return false;
      for (let c = 0; c < 3; c++) {
        if (b.data.data[((i * 3 + c) * 28 + y) * 28 + x] !== (inside ? value(bgr[((i * 3 + c) * 24 + y) * 32 + x + w], c) : 0)) return false;
      }
    }
  }
  return true;
}
