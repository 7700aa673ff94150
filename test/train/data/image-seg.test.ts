// DeepLab's ImageSegData against what OpenCV gave fixtures/make_data.py (cv2.imread, cv2.resize), with the
// padding, crops and data_dim of image_seg_data_layer.cpp and TransformImgAndSeg worked out by hand.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CaffeToolError } from '../../../src/errors.js';
import { tempDir } from '../../helpers.js';
import { DATA, findWindow, maxDiff, open, ref } from './helpers.js';

const seg = (param = '', transform = '', source = 'seg_train.txt') => `
layer { name: "seg" type: "ImageSegData" top: "data" top: "label" top: "data_dim"
  image_data_param { source: "${source}" root_folder: "seg/" batch_size: 2 label_type: PIXEL ${param} }
  transform_param { ${transform} } }`;

const MEAN = [104, 117, 123];

describe('ImageSegData', () => {
  it('TEST, crop 28 of 24x32 images: 4 rows of padding (0 after the mean, label 255), the centre 28 columns (offset 2); data_dim 24, 28', async () => {
    const src = open(seg('', 'crop_size: 28 mean_value: 104 mean_value: 117 mean_value: 123 scale: 0.017'), 'TEST');
    const b = await src.next();
    await src.close();
    assert.deepEqual(b.data.dims, [2, 3, 28, 28]);
    assert.deepEqual(b.label.dims, [2, 1, 28, 28]);
    assert.deepEqual([...b.data_dim.data], [24, 28, 24, 28]);
    const [bgr, lab] = [ref('seg_first2_bgr.npy').data, ref('seg_first2_label.npy').data];
    let worst = 0;
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const inside = y < 24;
          assert.equal(b.label.data[(i * 28 + y) * 28 + x], inside ? lab[i * 768 + y * 32 + x + 2] : 255);
          for (let c = 0; c < 3; c++) {
            const expected = inside ? (bgr[((i * 3 + c) * 24 + y) * 32 + x + 2] - MEAN[c]) * 0.017 : 0;
            worst = Math.max(worst, Math.abs(b.data.data[((i * 3 + c) * 28 + y) * 28 + x] - expected));
          }
        }
      }
    }
    assert.ok(worst < 1e-6, `largest difference ${worst}`);
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
      assert.match(e.message, /the image is 28x28 but the first of its batch is 24x32/);
      assert.equal(e.where.line, 2);
      return true;
    });
    await src.close();
  });
});
