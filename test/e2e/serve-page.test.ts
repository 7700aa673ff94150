// The web page of `caffe-tool serve`, in a real headless browser (Debian's chromium through playwright-core),
// against the real server started from the command line. The two nets are built so their answers can be worked
// out by hand: a classifier that averages each colour channel (BGR), scales by 0.01 and takes the softmax, and
// a "segmentation" net whose classes per pixel are the input channels themselves.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { writeCaffeFile } from '../../src/io/files.js';
import { renderPage } from '../../src/runtime/serve/page.js';
import { ROOT, tempDir } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does) to test the web page`;

const CLASSIFIER = `name: "colours"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }
layer { name: "avg" type: "Pooling" bottom: "data" top: "avg" pooling_param { pool: AVE global_pooling: true } }
layer { name: "small" type: "Power" bottom: "avg" top: "small" power_param { scale: 0.01 } }
layer { name: "flat" type: "Flatten" bottom: "small" top: "flat" }
layer { name: "prob" type: "Softmax" bottom: "flat" top: "prob" }
`;
const SEGMENTER = `name: "channels"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 6 } } }
layer { name: "seg" type: "ReLU" bottom: "data" top: "seg" }
`;

/** `listening on http://HOST:PORT` from the server's stdout. */
function waitForUrl(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s:\n${err}`)), 60_000);
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${err}`));
    });
  });
}

describe('the web page of caffe-tool serve, in headless chromium', { skip }, () => {
  const dir = tempDir();
  const red = join(dir, 'orange.png');
  const halves = join(dir, 'halves.png');
  let server: ChildProcess;
  let browser: Browser;
  let url: string;

  before(async () => {
    writeFileSync(join(dir, 'colours.prototxt'), CLASSIFIER);
    writeFileSync(join(dir, 'channels.prototxt'), SEGMENTER);
    // Neither net learns anything: its weights file holds no layers.
    writeCaffeFile(join(dir, 'none.caffemodel'), { kind: 'net', dialect: 'bvlc', message: { name: 'none', layer: [] } }, 'binary');
    writeFileSync(join(dir, 'labels.txt'), 'blue\ngreen\nred\n');
    writeFileSync(join(dir, 'notes.txt'), 'not an image at all\n');
    // 4x4 of RGB (200, 100, 0): the classifier's input size, so nothing is resized.
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 100, b: 0 } } }).png().toFile(red);
    // 6x4: the left three columns pure red, the right three pure blue.
    const px = Buffer.alloc(6 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) px.set(x < 3 ? [255, 0, 0] : [0, 0, 255], (y * 6 + x) * 3);
    await sharp(px, { raw: { width: 6, height: 4, channels: 3 } }).png().toFile(halves);

    server = spawn(process.execPath, [
      CLI, 'serve', '--host', '127.0.0.1', '--port', '0',
      '--model-spec', `cls=${join(dir, 'colours.prototxt')},${join(dir, 'none.caffemodel')}`,
      '--model-spec', `seg=${join(dir, 'channels.prototxt')},${join(dir, 'none.caffemodel')}`,
      '--labels', `cls=${join(dir, 'labels.txt')}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [started, launched] = await Promise.allSettled([
      waitForUrl(server),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    url = started.value;
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(url);
    return page;
  }

  it('shows the top classes with their labels, scores and bars', async () => {
    const page = await openPage();
    assert.deepEqual(await page.locator('[data-testid=model-select] option').allTextContents(), ['cls (classification)', 'seg (segmentation)']);
    await page.selectOption('[data-testid=model-select]', 'cls');
    await page.setInputFiles('[data-testid=file-input]', red);
    const items = page.locator('[data-testid=top-item]');
    await items.nth(2).waitFor();
    // BGR means (0, 100, 200) * 0.01, then the softmax.
    const z = [0, 1, 2].map((v) => Math.exp(v));
    const p = z.map((v) => v / (z[0] + z[1] + z[2]));
    assert.deepEqual(await items.locator('.label').allTextContents(), ['red', 'green', 'blue']);
    assert.deepEqual(await items.locator('.score').allTextContents(), [p[2], p[1], p[0]].map((s) => `${(s * 100).toFixed(1)}%`));
    const widths = await items.locator('.bar').evaluateAll((bars) => bars.map((b) => parseFloat((b as HTMLElement).style.width)));
    [1, p[1] / p[2], p[0] / p[2]].forEach((w, i) => assert.ok(Math.abs(widths[i] - w * 100) < 1e-3, `bar ${i}: ${widths[i]}%`));
    assert.equal(await page.locator('[data-testid=error]').isVisible(), false);
    assert.match(await page.locator('[data-testid=status]').textContent() ?? '', /^cls: \d+ ms$/);
    await page.close();
  });

  it('draws the mask over the image, lists the classes, and the slider sets its opacity', async () => {
    const page = await openPage();
    await page.selectOption('[data-testid=model-select]', 'seg');
    await page.setInputFiles('[data-testid=file-input]', halves);
    await page.locator('[data-testid=segment-result]').waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=seg-mask]') as HTMLImageElement;
      return img.complete && img.naturalWidth > 0;
    });
    // Red is Caffe's channel 2 (BGR), blue channel 0: the PASCAL VOC colours of classes 2 and 0.
    const pixels = await page.evaluate(() => {
      const img = document.querySelector('[data-testid=seg-mask]') as HTMLImageElement;
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      return { size: [img.naturalWidth, img.naturalHeight], left: [...ctx.getImageData(1, 2, 1, 1).data], right: [...ctx.getImageData(4, 2, 1, 1).data] };
    });
    assert.deepEqual(pixels, { size: [6, 4], left: [0, 128, 0, 255], right: [0, 0, 0, 255] });
    // Each class covers half the pixels: their order is the server's choice.
    const classes = await page.locator('[data-testid=class-item]').evaluateAll((items) =>
      items.map((li) => `${li.textContent} ${getComputedStyle(li.querySelector('.swatch')!).backgroundColor}`));
    assert.deepEqual(classes.sort(), ['class 0 50.0% rgb(0, 0, 0)', 'class 2 50.0% rgb(0, 128, 0)']);
    const under = await page.locator('[data-testid=seg-image]').evaluate((img) => (img as HTMLImageElement).naturalWidth);
    assert.equal(under, 6);
    const mask = page.locator('[data-testid=seg-mask]');
    assert.equal(await mask.evaluate((m) => (m as HTMLElement).style.opacity), '0.5');
    await page.locator('[data-testid=opacity]').fill('80');
    assert.equal(await mask.evaluate((m) => (m as HTMLElement).style.opacity), '0.8');
    assert.equal(await page.locator('[data-testid=classify-result]').isVisible(), false);
    await page.close();
  });

  it('takes a dropped image, and shows the server\'s error for a file that is not an image', async () => {
    const page = await openPage();
    await page.selectOption('[data-testid=model-select]', 'cls');
    const png = (await sharp(red).toBuffer()).toString('base64');
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      document.querySelector('[data-testid=drop-zone]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, png);
    await page.locator('[data-testid=top-item]').first().waitFor();
    assert.equal(await page.locator('[data-testid=top-item] .label').first().textContent(), 'red');

    await page.setInputFiles('[data-testid=file-input]', join(dir, 'notes.txt'));
    const error = page.locator('[data-testid=error]');
    await error.waitFor();
    assert.match(await error.textContent() ?? '', /send a JPEG or PNG image/);
    assert.equal(await page.locator('[data-testid=classify-result]').isVisible(), false);
    await page.close();
  });

  it('shows model names as text, never as markup', async () => {
    const page = await browser.newPage();
    const name = '<img src=x onerror="window.injected=1">"\'&';
    await page.setContent(renderPage([{ name, task: 'classify' }]));
    assert.equal(await page.locator('[data-testid=model-select] option').textContent(), `${name} (classification)`);
    assert.equal(await page.locator('[data-testid=model-select]').inputValue(), name);
    assert.equal(await page.locator('img').count(), 2);
    assert.equal(await page.evaluate(() => (window as unknown as { injected?: number }).injected), undefined);
    await page.setContent(renderPage([]));
    assert.equal(await page.locator('[data-testid=no-models]').isVisible(), true);
    await page.close();
  });
});
