// ImageData and SegNet's DenseImageData against what OpenCV (cv2.imread, cv2.resize) gave
// fixtures/make_data.py; list errors; TRAIN and TEST sources that share nothing; prefetching that changes no value.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CaffeToolError } from '../../../src/errors.js';
import { readNpy } from '../../../src/io/npy.js';
import { resizeLinear } from '../../../src/io/image.js';
import type { Batch, BatchSource } from '../../../src/train/data/index.js';
import { tempDir } from '../../helpers.js';
import { DATA, findWindow, maxDiff, open, ref } from './helpers.js';

const imageData = (extra = '', param = '') => `
layer { name: "digits" type: "ImageData" top: "data" top: "label"
  image_data_param { source: "digits_train.txt" root_folder: "digits_png/" batch_size: 8 is_color: false ${param} }
  ${extra} }`;

const dense = (param = '', transform = '', source = 'seg_train.txt') => `
layer { name: "seg" type: "DenseImageData" top: "data" top: "label"
  dense_image_data_param { source: "${source}" root_folder: "seg/" batch_size: 2 ${param} }
  ${transform} }`;

async function batches(src: BatchSource, n: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < n; i++) out.push(await src.next());
  return out;
}

describe('ImageData', () => {
  it('reads the listed images in grey with their labels', async () => {
    const src = open(imageData(), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [8, 1, 28, 28]);
    assert.equal(maxDiff(b.data.data, ref('digits_first8.npy').data), 0);
    assert.deepEqual([...b.label.data], [...ref('digits_first8_label.npy').data]);
    await src.close();
  });

  it('reads a grey image in colour as three equal channels (cv::IMREAD_COLOR)', async () => {
    const src = open(imageData('', '').replace('is_color: false', 'is_color: true'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [8, 3, 28, 28]);
    const first = ref('digits_first8.npy').data;
    for (const ch of [0, 1, 2]) assert.equal(maxDiff(b.data.data.subarray(ch * 784, (ch + 1) * 784), first.subarray(0, 784)), 0);
    await src.close();
  });

  it('shuffles with the seed, and an epoch holds every image once', async () => {
    const text = imageData('', 'shuffle: true').replace('batch_size: 8', 'batch_size: 25').replace('digits_train.txt', 'digits_test.txt');
    const epoch = async (seed: number) => (await batches(open(text, 'TRAIN', { seed }), 4)).flatMap((b) => [...b.label.data]);
    const listed = readFileSync(join(DATA, 'digits_test.txt'), 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[1]));
    const [a, b, c] = [await epoch(9), await epoch(9), await epoch(10)];
    assert.deepEqual([...a].sort(), [...listed].sort());
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.notDeepEqual(a, listed);
    // The shuffle has its own generator: random crops and mirrors do not change the order.
    const cropped = (await batches(open(text.replace('layer {', 'layer { transform_param { crop_size: 20 mirror: true }'), 'TRAIN', { seed: 9 }), 4)).flatMap((b) => [...b.label.data]);
    assert.deepEqual(cropped, a);
  });

  it('rand_skip applies after the shuffle too, as image_data_layer.cpp does: the shuffled list, started further in', async () => {
    const text = imageData('', 'shuffle: true').replace('batch_size: 8', 'batch_size: 25').replace('digits_train.txt', 'digits_test.txt');
    const epoch = async (t: string) => (await batches(open(t, 'TRAIN', { seed: 9 }), 4)).flatMap((b) => [...b.label.data]);
    const shuffled = await epoch(text);
    const skipped = await epoch(text.replace('shuffle: true', 'shuffle: true rand_skip: 50'));
    // Up to the wrap-around (which shuffles again) the skipped run is the shuffled list from some k in [1, 50).
    const k = [...Array(50).keys()].slice(1).find((i) => shuffled.slice(i).every((v, j) => v === skipped[j]));
    assert.ok(k !== undefined, 'the skipped run is not the shuffled list started further in');
  });

  it('names the list file and line of a missing image', async () => {
    const dir = tempDir();
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${join(DATA, 'digits_png/train/00000.png')} 1\n\n${join(DATA, 'digits_png/train/nope.png')} 2\n`);
    const src = open(imageData().replace('"digits_train.txt"', `"${list}"`).replace('root_folder: "digits_png/"', '').replace('batch_size: 8', 'batch_size: 2'), 'TRAIN');
    await assert.rejects(src.next(), (e: CaffeToolError) => {
      assert.match(e.message, /cannot read the image .*nope\.png: no such file/);
      assert.equal(e.where.file, list);
      assert.equal(e.where.line, 3);
      assert.equal(e.where.layer, 'digits');
      return true;
    });
    await src.close();
  });

  it('names the line of a list entry without a label', () => {
    const dir = tempDir();
    const list = join(dir, 'list.txt');
    writeFileSync(list, 'a.png 1\nb.png\n');
    assert.throws(() => open(imageData().replace('"digits_train.txt"', `"${list}"`), 'TRAIN'), (e: CaffeToolError) => e.where.file === list && e.where.line === 2);
  });
});

describe('DenseImageData', () => {
  it('gives the images in BGR, mean values subtracted then scaled, and the label images untouched', async () => {
    const src = open(dense('', 'transform_param { mean_value: 104 mean_value: 117 mean_value: 123 scale: 0.017 }'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [2, 3, 24, 32]);
    assert.deepEqual(b.label.dims, [2, 1, 24, 32]);
    assert.ok(maxDiff(b.data.data, ref('seg_first2_meanvalue.npy').data) < 1e-5);
    assert.equal(maxDiff(b.label.data, ref('seg_first2_label.npy').data), 0);
    await src.close();
  });

  it('resizes images like cv2.resize INTER_LINEAR and labels nearest-neighbour, exactly', async () => {
    const src = open(dense('new_height: 16 new_width: 20'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [2, 3, 16, 20]);
    assert.equal(maxDiff(b.data.data.subarray(0, 3 * 320), ref('seg_resize_16x20_bgr.npy').data), 0);
    assert.equal(maxDiff(b.label.data.subarray(0, 320), ref('seg_resize_16x20_label.npy').data), 0);
    const classes = new Set(b.label.data);
    assert.deepEqual([...classes].sort(), [0, 1, 2]);
    await src.close();
  });

  it('mirrors and crops the image and its label by the same window', async () => {
    const [bgr, lab] = [ref('seg_first2_bgr.npy').data, ref('seg_first2_label.npy').data];
    const seen = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      const src = open(dense('mirror: true crop_height: 16 crop_width: 20'), 'TRAIN', { seed });
      const b = await src.next();
      await src.close();
      assert.deepEqual(b.data.dims, [2, 3, 16, 20]);
      assert.deepEqual(b.label.dims, [2, 1, 16, 20]);
      for (let i = 0; i < 2; i++) {
        const found = findWindow(b.data.data.subarray(i * 960, (i + 1) * 960), bgr, i);
        assert.ok(found, `seed ${seed}, item ${i}: not a window of its image`);
        const [h, w, m] = found;
        const label = b.label.data.subarray(i * 320, (i + 1) * 320);
        for (let y = 0; y < 16; y++) {
          for (let x = 0; x < 20; x++) assert.equal(label[y * 20 + x], lab[i * 768 + (h + y) * 32 + (m ? 31 - (w + x) : w + x)]);
        }
        seen.add(`${h},${w},${m}`);
      }
    }
    const flips = new Set([...seen].map((s) => s.split(',')[2]));
    assert.equal(flips.size, 2, 'both mirrored and plain items in 12 draws');
    assert.ok(seen.size > 4, 'the windows move');
  });

  it('crops the centre in TEST', async () => {
    const src = open(dense('crop_height: 16 crop_width: 20'), 'TEST');
    const b = await src.next();
    const bgr = ref('seg_first2_bgr.npy').data;
    assert.deepEqual(findWindow(b.data.data.subarray(0, 960), bgr, 0), [4, 6, false]);
    await src.close();
  });

  it('names both files and sizes when a label image differs from its image', async () => {
    const dir = tempDir();
    await sharp(Buffer.alloc(10 * 12), { raw: { width: 12, height: 10, channels: 1 } }).png().toFile(join(dir, 'small.png'));
    const list = join(dir, 'pairs.txt');
    writeFileSync(list, `${join(DATA, 'seg/img_0.png')} ${join(dir, 'small.png')}\n`);
    const src = open(dense('', '', list).replace('root_folder: "seg/"', '').replace('batch_size: 2', 'batch_size: 1'), 'TRAIN');
    await assert.rejects(src.next(), (e: CaffeToolError) => {
      assert.match(e.message, /the label image .*small\.png is 12x10 but its image .*img_0\.png is 32x24/);
      assert.equal(e.where.line, 1);
      return true;
    });
    await src.close();
  });

  it('reads the label label_divide_factor times smaller in ENet\'s dialect: every second pixel for 2', async () => {
    const src = open(dense('new_height: 24 new_width: 32 label_divide_factor: 2'), 'TEST');
    const b = await src.next();
    assert.deepEqual(b.data.dims, [2, 3, 24, 32]);
    assert.deepEqual(b.label.dims, [2, 1, 12, 16]);
    const lab = ref('seg_first2_label.npy').data;
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < 12; y++) {
        for (let x = 0; x < 16; x++) assert.equal(b.label.data[(i * 12 + y) * 16 + x], lab[i * 768 + 2 * y * 32 + 2 * x]);
      }
    }
    await src.close();
  });

  it('refuses transform_param crop_size and mirror, which would cut the label differently', () => {
    assert.throws(() => open(dense('', 'transform_param { mirror: true }'), 'TRAIN'), /crop_size or mirror/);
  });
});

describe('sources share nothing and prefetching changes nothing', () => {
  const text = imageData('transform_param { crop_size: 24 mirror: true }', 'shuffle: true');

  it('a TRAIN source gives the same batches whether or not a TEST source on the same list runs beside it', async () => {
    const alone = await batches(open(text, 'TRAIN', { seed: 7 }), 6);
    const train = open(text, 'TRAIN', { seed: 7 });
    const test = open(text, 'TEST', { seed: 7 });
    const mixed: Batch[] = [];
    for (let i = 0; i < 6; i++) {
      mixed.push(await train.next());
      for (let k = 0; k < i % 3; k++) await test.next();
    }
    for (let i = 0; i < 6; i++) assert.deepEqual(mixed[i].data.data, alone[i].data.data, `batch ${i}`);
    await Promise.all([train.close(), test.close()]);
  });

  it('prefetch 1 and prefetch 6 give the same batches, concurrent calls included', async () => {
    const one = open(`${text.replace('layer {', 'layer { data_param { prefetch: 1 }')}`, 'TRAIN', { seed: 2 });
    const six = open(`${text.replace('layer {', 'layer { data_param { prefetch: 6 }')}`, 'TRAIN', { seed: 2 });
    const a = await batches(one, 5);
    const b = await Promise.all([six.next(), six.next(), six.next(), six.next(), six.next()]);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(a[i].data.data, b[i].data.data);
      assert.deepEqual(a[i].label.data, b[i].label.data);
    }
    await Promise.all([one.close(), six.close()]);
  });
});

describe('resizeLinear is cv2.resize INTER_LINEAR byte for byte (fixtures/make_resize_refs.py)', () => {
  const dir = join(DATA, 'resize');
  const { opencv, cases } = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { opencv: string; cases: { name: string; in: number[]; out: number[] }[] };
  for (const c of cases) {
    it(`${c.name}: ${c.in.join('x')} -> ${c.out.join('x')} (OpenCV ${opencv})`, () => {
      const input = readNpy(readFileSync(join(dir, `${c.name}_in.npy`)));
      const expected = readNpy(readFileSync(join(dir, `${c.name}_out.npy`)));
      const [h, w, ch] = c.in;
      const out = resizeLinear({ data: Uint8Array.from(input.data), channels: ch, height: h, width: w, layout: 'hwc' }, c.out[0], c.out[1]);
      assert.deepEqual([out.height, out.width, out.channels], c.out);
      const wrong = Array.from(out.data).filter((v, i) => v !== expected.data[i]).length;
      assert.equal(wrong, 0, `${wrong} of ${out.data.length} values differ from cv2.resize`);
    });
  }
});
