// `caffe-tool run`'s image preprocessing against what Caffe's TEST phase makes of the same files with OpenCV
// decoding and resizing them (fixtures/make_preprocess_refs.py: cv2.imread, cv2.resize INTER_LINEAR to the mean
// image's size, the center crop of image and mean, (pixel - mean) * scale in float32).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { readNpy } from '../../src/io/npy.js';
import { imageToTensor, type Preprocess } from '../../src/runtime/preprocess.js';
import { fixture } from '../helpers.js';

const dir = fixture('data', 'preprocess');
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { mean: number[]; crop: number[]; scale: number };

/** The mean image of the fixture script: (i * 0.37) % 255 over the flat index, as float32. */
function pre(channels: number): Preprocess {
  const [, h, w] = meta.mean;
  const data = Float32Array.from({ length: channels * h * w }, (_, i) => (i * 0.37) % 255);
  return { meanImage: { data, shape: [channels, h, w] }, scale: meta.scale, channelOrder: 'bgr' };
}

function sameAsReference(got: Float32Array, name: string): void {
  const want = readNpy(readFileSync(join(dir, name))).data;
  assert.equal(got.length, want.length);
  const wrong = got.filter((v, i) => v !== want[i]).length;
  assert.equal(wrong, 0, `${wrong} of ${got.length} values differ from OpenCV's`);
}

describe('run: an image becomes the tensor Caffe\'s TEST phase makes of it', () => {
  const [h, w] = meta.crop;
  it('a colour JPEG, resized to the 28x30 mean and cropped to 20x24 with it, exactly', async () => {
    sameAsReference(await imageToTensor(join(dir, 'photo.jpg'), [3, h, w], pre(3)), 'ref_jpg_bgr.npy');
  });
  it('a colour PNG, given as bytes (as serve gets it), exactly', async () => {
    sameAsReference(await imageToTensor(readFileSync(join(dir, 'photo.png')), [3, h, w], pre(3)), 'ref_png_bgr.npy');
  });
  it('a colour PNG for a 1-channel net: grey as libpng makes it for cv2.imread(IMREAD_GRAYSCALE), exactly', async () => {
    sameAsReference(await imageToTensor(join(dir, 'photo.png'), [1, h, w], pre(1)), 'ref_png_grey.npy');
  });
  it('an embedded colour profile (Display P3) is not applied: OpenCV ignores it', async () => {
    sameAsReference(await imageToTensor(join(dir, 'photo_p3.png'), [3, h, w], pre(3)), 'ref_p3_bgr.npy');
    // What applying it would have given: most values elsewhere.
    const applied = await sharp(join(dir, 'photo_p3.png')).raw().toBuffer();
    const plain = await sharp(join(dir, 'photo_p3.png'), { ignoreIcc: true }).raw().toBuffer();
    assert.ok(applied.filter((v, i) => v !== plain[i]).length > applied.length / 2, 'the profile changes nothing: the test shows nothing');
  });
  it('a CMYK JPEG, colour and grey, as OpenCV converts what libjpeg gives (not through a CMYK profile), exactly', async () => {
    sameAsReference(await imageToTensor(join(dir, 'photo_cmyk.jpg'), [3, h, w], pre(3)), 'ref_cmyk_bgr.npy');
    sameAsReference(await imageToTensor(join(dir, 'photo_cmyk.jpg'), [1, h, w], pre(1)), 'ref_cmyk_grey.npy');
  });
  it('the EXIF orientation is applied, as cv2.imread does since OpenCV 3.1', async () => {
    sameAsReference(await imageToTensor(join(dir, 'photo_exif6.jpg'), [3, h, w], pre(3)), 'ref_exif6_bgr.npy');
  });
});
