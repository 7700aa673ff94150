// caffe-tool plot-log through the real command line: a PNG that decodes at the stated size with the curves where
// the axes put them, an SVG whose series hold one point per log record, parse_log.py's tables, and the errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, readFixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** The <g> of one series: its attributes and body. */
function series(svg: string, name: string): string {
  const m = new RegExp(`<g class="series" data-series="${name.replace(/[()]/g, '\\$&')}"[^>]*>([\\s\\S]*?)</g>`).exec(svg);
  assert.ok(m, `series '${name}' in the SVG`);
  return m[0];
}
const circles = (g: string) => [...g.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
const polyline = (g: string) => /<polyline points="([^"]*)"/.exec(g)![1].split(' ').map((p) => p.split(',').map(Number));

describe('caffe-tool plot-log', () => {
  it('PNG of a Caffe log: 1000 x 974 (three panels), train loss, test outputs, lr on a log scale', async () => {
    const dir = tempDir();
    const out = join(dir, 'curves.png');
    const r = run('plot-log', fixture('logs', 'lenet_caffe1.log'), '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lenet_caffe1\.log: Caffe log: 20 train rows \(iterations 0-1900\), 5 tests \(iterations 0-2000\), 20 learning rates\nwrote .*curves\.png \(1000x974\)\n/);
    const { data, info } = await sharp(readFileSync(out)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    // 64 px of title, 3 panels of 290, 40 px below.
    assert.deepEqual([info.width, info.height, info.channels], [1000, 974, 3]);
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]) <= 40);
    const count = (rgb: number[]) => {
      let n = 0;
      for (let i = 0; i < data.length; i += 3) if (near([data[i], data[i + 1], data[i + 2]], rgb)) n++;
      return n;
    };
    assert.deepEqual(px(5, 5), [255, 255, 255]);
    assert.ok(count([0x1f, 0x77, 0xb4]) > 800, 'the train loss line (blue)');
    assert.ok(count([0x2c, 0xa0, 0x2c]) > 800, 'the test accuracy line (green)');
    // The lr panel's plot area spans y 672..892 and x 84..916 for iterations 0..2000. On the log axis from 1e-4
    // to 1e-2, lr 0.01 is its top edge and 0.001 its middle (y 782); the rate drops at iteration 800 (x 416.8).
    const purple = [0x94, 0x67, 0xbd];
    assert.ok(near(px(250, 672), purple) || near(px(250, 673), purple), `lr 0.01 at the top: ${px(250, 672)}`);
    assert.ok(near(px(600, 782), purple) || near(px(600, 781), purple), `lr 0.001 half way down: ${px(600, 782)}`);
    assert.ok(!near(px(600, 672), purple) && !near(px(250, 782), purple));
    assert.deepEqual(readdirSync(dir), ['curves.png'], 'no temporary file left behind');
  });

  it('SVG of --log-json against seconds: one point per record, where the axes put it', () => {
    const out = join(tempDir(), 'curves.svg');
    const r = run('plot-log', fixture('logs', 'lenet.jsonl'), '-o', out, '--x', 'seconds');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /caffe-tool --log-json: 20 train rows/);
    const svg = readFileSync(out, 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1000" height="974"/);
    assert.equal(circles(series(svg, 'loss (each display)')).length, 20);
    assert.equal(polyline(series(svg, 'loss (smoothed)')).length, 20);
    const acc = series(svg, 'accuracy');
    assert.match(acc, /data-points="5"/);
    assert.equal(polyline(acc).length, 5);
    assert.equal(circles(acc).length, 5);
    // x from 0 to 165.958602 s over 84..916; the test panel's plot area spans y 382..602, accuracy 0..1:
    // the first test (2.836485 s, accuracy 0.0872359) at (84 + 2.836485 / 165.958602 * 832, 602 - 0.0872359 * 220).
    const [x0, y0] = polyline(acc)[0];
    assert.ok(Math.abs(x0 - 98.2) <= 0.1 && Math.abs(y0 - 582.8) <= 0.1, `${x0},${y0}`);
    assert.deepEqual(polyline(acc)[4], [916, 602 - 0.987991 * 220].map((v) => Math.round(v * 10) / 10));
    polyline(series(svg, 'loss (right axis)')).forEach(([, y]) => assert.ok(y >= 382 && y <= 602));
    // A learning rate holds until the next: 20 rates, 19 steps, 39 corners.
    assert.equal(polyline(series(svg, 'lr')).length, 39);
    assert.match(svg, />Learning rate \(log scale\)</);
    assert.match(svg, />seconds since the start</);
    assert.match(svg, />160</);
    assert.doesNotMatch(svg, />180</);
  });

  it('--csv writes the train and test tables as parse_log.py does', () => {
    const dir = tempDir();
    const r = run('plot-log', fixture('logs', 'lenet_2015.log'), '--csv', join(dir, 'lenet.csv'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*lenet\.train\.csv \(10 rows\)\nwrote .*lenet\.test\.csv \(3 rows\)\n$/);
    assert.deepEqual(readFileSync(join(dir, 'lenet.train.csv')), readFixture('logs', 'lenet_2015.log.train'));
    assert.deepEqual(readFileSync(join(dir, 'lenet.test.csv')), readFixture('logs', 'lenet_2015.log.test'));
  });

  it('errors: nothing to plot (exit 1), a bad output name or axis (exit 2), the log as the output', () => {
    const dir = tempDir();
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'I1126 12:00:00.000000 1 main.cpp:1] hello\n');
    const empty = run('plot-log', notes, '-o', join(dir, 'a.png'));
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /notes\.txt: no training or test records in this log: nothing to plot\n {2}hint: /);
    assert.equal(run('plot-log', fixture('logs', 'caffe09.log'), '-o', join(dir, 'a.jpg')).code, 2);
    assert.equal(run('plot-log', fixture('logs', 'caffe09.log'), '-o', join(dir, 'a.svg'), '--x', 'epoch').code, 2);
    assert.equal(run('plot-log', fixture('logs', 'caffe09.log')).code, 2);
    assert.equal(run('plot-log', join(dir, 'missing.log'), '-o', join(dir, 'a.svg')).code, 1);
    const copy = join(dir, 'run.svg');
    writeFileSync(copy, readFileSync(fixture('logs', 'caffe09.log')));
    const self = run('plot-log', copy, '-o', copy);
    assert.equal(self.code, 2);
    assert.match(self.stderr, /is the input file/);
    assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'run.svg']);
  });
});
