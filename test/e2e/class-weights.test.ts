// caffe-tool class-weights through the real command line, against weights computed by hand.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const weightsOf = (stdout: string) => [...stdout.matchAll(/^class_weighting: (\S+)/gm)].map((m) => Number(m[1]));

describe('caffe-tool class-weights', () => {
  // Two 2x2 label images: A = [0 0; 0 1], B = [0 2; 2 2].
  const dir = tempDir();
  before(async () => {
    const png = (values: number[], name: string) => sharp(Buffer.from(values), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(join(dir, name));
    await png([0, 0, 0, 1], 'a.png');
    await png([0, 2, 2, 2], 'b.png');
    writeFileSync(join(dir, 'list.txt'), 'img_a.png a.png\nimg_b.png b.png\n');
  });

  it('median-frequency balancing: freq 4/8, 1/4, 3/4; median 1/2; weights 1, 2, 2/3', () => {
    const r = run('class-weights', '--source', join(dir, 'list.txt'), '--root-folder', `${dir}/`);
    assert.equal(r.code, 0, r.stderr);
    const w = weightsOf(r.stdout);
    assert.equal(w.length, 3);
    [1, 2, 2 / 3].forEach((x, i) => assert.ok(Math.abs(w[i] - x) < 1e-5, `class ${i}: ${w[i]}`));
    assert.match(r.stdout, /class_weighting: 2 {2}# class 1: 1 pixels in 1 images/);
  });

  it('ignored pixels count nowhere: with label 2 ignored, freq 4/5 and 1/4, median 0.525', () => {
    const r = run('class-weights', '--source', join(dir, 'list.txt'), '--root-folder', `${dir}/`, '--ignore-label', '2', '--classes', '2');
    assert.equal(r.code, 0, r.stderr);
    const w = weightsOf(r.stdout);
    [0.525 / 0.8, 0.525 / 0.25].forEach((x, i) => assert.ok(Math.abs(w[i] - x) < 1e-5, `class ${i}: ${w[i]}`));
  });

  it('the two-class inverse-frequency rule: freq 0.8 and 0.2 of all pixels, weights 0.25 and 1', () => {
    const r = run('class-weights', '--source', join(dir, 'list.txt'), '--root-folder', `${dir}/`, '--ignore-label', '2', '--classes', '2', '--method', 'inverse');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(weightsOf(r.stdout), [0.25, 1]);
    const three = run('class-weights', '--source', join(dir, 'list.txt'), '--root-folder', `${dir}/`, '--method', 'inverse');
    assert.equal(three.code, 1);
    assert.match(three.stderr, /for two classes, and there are 3/);
  });

  it('matches the counts numpy recorded for the fixture segmentation set', () => {
    const counts: number[][] = JSON.parse(readFileSync(fixture('data', 'ref', 'seg_counts.json'), 'utf8')).classes;
    const r = run('class-weights', '--source', fixture('data', 'seg_train.txt'), '--root-folder', `${fixture('data', 'seg')}/`);
    assert.equal(r.code, 0, r.stderr);
    // Every image holds every class here, so freq(c) = pixels of c / all pixels.
    const total = counts.flat().reduce((a, b) => a + b, 0);
    const freq = [0, 1, 2].map((c) => counts.reduce((a, im) => a + im[c], 0) / total);
    const median = [...freq].sort((a, b) => a - b)[1];
    weightsOf(r.stdout).forEach((w, c) => assert.ok(Math.abs(w - median / freq[c]) < 1e-5));
  });

  it('names the list line of a label outside --classes, and a bad flag as usage', () => {
    const r = run('class-weights', '--source', join(dir, 'list.txt'), '--root-folder', `${dir}/`, '--classes', '2');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /list\.txt:2: the label image .*b\.png holds label 2, outside the 2 classes 0\.\.1/);
    assert.equal(run('class-weights', '--source', join(dir, 'list.txt'), '--method', 'mean').code, 2);
  });
});
