// caffe-tool serve: the real server on a loopback port, called over HTTP. The expected values are worked out
// by hand from nets with known weights (an InnerProduct, an Eltwise sum, a channel-mean classifier, an
// identity 1x1 convolution for segmentation); LeNet with random weights is checked against a direct
// ONNX Runtime run of its export.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { writeCaffeFile } from '../../src/io/files.js';
import { loadNet } from '../../src/net/load.js';
import { fillRandomWeights, seededUniform } from '../../src/net/weights.js';
import { startServer, type ServerHandle } from '../../src/runtime/serve/server.js';
import { fixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = tempDir();
const path = (name: string) => join(dir, name);

function caffemodel(file: string, layers: { name: string; blobs: { dims: number[]; data: number[] }[] }[]): string {
  const layer = layers.map((l) => ({ name: l.name, blobs: l.blobs.map((b) => ({ shape: { dim: b.dims }, data: Float32Array.from(b.data) })) }));
  writeCaffeFile(path(file), { kind: 'net', dialect: 'bvlc', message: { name: file, layer } }, 'binary');
  return path(file);
}

function writeNets(): void {
  // out = W x + b with W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1].
  writeFileSync(path('ip.prototxt'), 'name: "tiny_ip"\n' +
    'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }\n' +
    'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "out" inner_product_param { num_output: 2 } }\n');
  caffemodel('ip.caffemodel', [{ name: 'fc', blobs: [{ dims: [2, 3], data: [1, 2, 3, 4, 5, 6] }, { dims: [2], data: [0.5, -1] }] }]);
  // Two inputs: out = a + b.
  writeFileSync(path('two.prototxt'), 'name: "two"\n' +
    'layer { name: "a" type: "Input" top: "a" input_param { shape { dim: 1 dim: 3 } } }\n' +
    'layer { name: "b" type: "Input" top: "b" input_param { shape { dim: 1 dim: 3 } } }\n' +
    'layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "out" }\n');
  caffemodel('two.caffemodel', []); // no learned layers: the file holds only the net's name
  // A classifier of 2x2 images: score k is the mean of channel k (Caffe order: blue, green, red), after the
  // net's own preprocessing: subtract 10/20/30, then scale by 0.5.
  writeFileSync(path('cls.prototxt'), 'name: "cls"\n' +
    'layer { name: "data" type: "Input" top: "data" transform_param { scale: 0.5 mean_value: 10 mean_value: 20 mean_value: 30 }\n' +
    '  input_param { shape { dim: 1 dim: 3 dim: 2 dim: 2 } } }\n' +
    'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "score" inner_product_param { num_output: 3 } }\n');
  const means = [0, 1, 2].flatMap((k) => Array.from({ length: 12 }, (_, i) => (Math.floor(i / 4) === k ? 0.25 : 0)));
  caffemodel('cls.caffemodel', [{ name: 'fc', blobs: [{ dims: [3, 12], data: means }, { dims: [3], data: [0, 0, 0] }] }]);
  writeFileSync(path('labels.txt'), 'blue\ngreen\nred\n');
  // Segmentation of 3x2 images: an identity 1x1 convolution, so each pixel's class is its largest BGR channel.
  writeFileSync(path('seg.prototxt'), 'name: "seg"\n' +
    'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 2 dim: 3 } } }\n' +
    'layer { name: "id" type: "Convolution" bottom: "data" top: "out" convolution_param { num_output: 3 kernel_size: 1 bias_term: false } }\n');
  caffemodel('seg.caffemodel', [{ name: 'id', blobs: [{ dims: [3, 3, 1, 1], data: [1, 0, 0, 0, 1, 0, 0, 0, 1] }] }]);
  // The InnerProduct net as an .onnx with its batch fixed at 1.
  const { net } = loadNet(path('ip.prototxt'), { phase: 'TEST' });
  net.layers.find((l) => l.name === 'fc')!.weights = [
    { shape: { dim: [2, 3] }, data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, { shape: { dim: [2] }, data: Float32Array.from([0.5, -1]) }];
  writeFileSync(path('fixed.onnx'), exportOnnx(net).model);
}

/** LeNet with seeded random weights, written as a .caffemodel; and its export run in-process for the truth. */
async function lenet(): Promise<(x: Float32Array, n: number) => Promise<Float32Array>> {
  const { net } = loadNet(fixture('nets', 'lenet.prototxt'), { phase: 'TEST' });
  fillRandomWeights(net, 3);
  const layer = net.layers.filter((l) => l.weights).map((l) => ({ name: l.name, type: l.type, blobs: l.weights }));
  writeCaffeFile(path('lenet.caffemodel'), { kind: 'net', dialect: net.dialect, message: { name: net.name, layer } }, 'binary');
  const session = await ort.InferenceSession.create(exportOnnx(net, { dynamicBatch: true }).model);
  return async (x, n) => (await session.run({ data: new ort.Tensor('float32', x, [n, 1, 28, 28]) })).prob.data as Float32Array;
}

const ipByHand = (x: number[]) => [x[0] + 2 * x[1] + 3 * x[2] + 0.5, 4 * x[0] + 5 * x[1] + 6 * x[2] - 1];
const random = (n: number, seed: number) => {
  const next = seededUniform(seed);
  return Float32Array.from({ length: n }, () => next());
};
/** fetch's body type wants a Uint8Array over a plain ArrayBuffer. */
const bytes = (b: Buffer) => new Uint8Array(b);
const json = (doc: unknown) => ({ method: 'POST', body: JSON.stringify(doc), headers: { 'Content-Type': 'application/json' } });

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `[${i}] ${a[i]} vs ${b[i]}`);
}

/** One metric sample from /metrics, by its name and labels as written. */
async function metric(base: string, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('caffe-tool serve', () => {
  let server: ServerHandle;
  let base: string;
  let lenetTruth: (x: Float32Array, n: number) => Promise<Float32Array>;

  before(async () => {
    writeNets();
    lenetTruth = await lenet();
    server = await startServer({
      port: 0,
      maxBody: 64 * 1024,
      models: [
        { model: path('ip.prototxt'), weights: path('ip.caffemodel') },
        { model: path('two.prototxt'), weights: path('two.caffemodel') },
        { model: path('cls.prototxt'), weights: path('cls.caffemodel'), labels: ['blue', 'green', 'red'] },
        { model: path('seg.prototxt'), weights: path('seg.caffemodel') },
        { name: 'lenet', model: fixture('nets', 'lenet.prototxt'), weights: path('lenet.caffemodel') },
        { name: 'fixed', onnx: path('fixed.onnx') },
      ],
    });
    base = server.url;
  });
  after(() => server.close());

  it('health, server metadata and model metadata as the Open Inference Protocol has them', async () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const [p, body] of [['/v2/health/live', { live: true }], ['/v2/health/ready', { ready: true }], ['/v2/models/lenet/ready', { name: 'lenet', ready: true }]] as const) {
      const r = await fetch(base + p);
      assert.equal(r.status, 200, p);
      assert.deepEqual(await r.json(), body);
    }
    const meta = await (await fetch(`${base}/v2`)).json();
    assert.equal(meta.name, 'caffe-tool');
    assert.equal(meta.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.ok(meta.extensions.includes('binary_tensor_data'));

    const lenetMeta = await (await fetch(`${base}/v2/models/lenet`)).json();
    assert.deepEqual(lenetMeta, {
      name: 'lenet', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'data', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
      outputs: [{ name: 'prob', datatype: 'FP32', shape: [-1, 10] }],
    });
    assert.deepEqual(await (await fetch(`${base}/v2/models/lenet/versions/1`)).json(), lenetMeta);
    // The net's name is the default model name; an .onnx keeps its fixed batch.
    const two = await (await fetch(`${base}/v2/models/two`)).json();
    assert.deepEqual(two.inputs.map((i: { name: string; shape: number[] }) => [i.name, i.shape]), [['a', [-1, 3]], ['b', [-1, 3]]]);
    const fixed = await (await fetch(`${base}/v2/models/fixed`)).json();
    assert.deepEqual([fixed.inputs[0].shape, fixed.outputs[0].shape], [[1, 3], [1, 2]]);
    const seg = await (await fetch(`${base}/v2/models/seg`)).json();
    assert.deepEqual(seg.outputs, [{ name: 'out', datatype: 'FP32', shape: [-1, 3, 2, 3] }]);
  });

  it('infer with JSON tensors, flat or nested, gives the hand-computed outputs', async () => {
    const r = await fetch(`${base}/v2/models/tiny_ip/infer`, json({
      id: 'req-1', inputs: [{ name: 'data', shape: [2, 3], datatype: 'FP32', data: [[1, 1, 1], [1, 0, -1]] }],
    }));
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      model_name: 'tiny_ip', model_version: '1', id: 'req-1',
      outputs: [{ name: 'out', datatype: 'FP32', shape: [2, 2], data: [6.5, 14, -1.5, -3] }],
    });
    const flat = await (await fetch(`${base}/v2/models/tiny_ip/versions/1/infer`, json({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: [2, -1, 0.5] }] }))).json();
    assert.deepEqual(flat.outputs[0].data, ipByHand([2, -1, 0.5]));
    const two = await (await fetch(`${base}/v2/models/two/infer`, json({
      inputs: [{ name: 'b', shape: [1, 3], datatype: 'FP32', data: [10, 20, 30] }, { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
      outputs: [{ name: 'out' }],
    }))).json();
    assert.deepEqual(two.outputs[0].data, [11, 22, 33]);
  });

  it('infer on LeNet equals ONNX Runtime run in-process on the exported net', async () => {
    const x = random(2 * 784, 11);
    const r = await (await fetch(`${base}/v2/models/lenet/infer`, json({ inputs: [{ name: 'data', shape: [2, 1, 28, 28], datatype: 'FP32', data: Array.from(x) }] }))).json();
    assert.deepEqual(r.outputs[0].shape, [2, 10]);
    close(r.outputs[0].data, await lenetTruth(x, 2));
  });

  it('the binary tensor data extension: binary inputs in, binary outputs out', async () => {
    const x = random(784, 12);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 784 * 4 } }],
      outputs: [{ name: 'prob', parameters: { binary_data: true } }],
    }));
    const body = Buffer.concat([header, Buffer.from(x.buffer)]);
    const r = await fetch(`${base}/v2/models/lenet/infer`, { method: 'POST', body: bytes(body), headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) } });
    assert.equal(r.status, 200);
    const answer = Buffer.from(await r.arrayBuffer());
    const jsonLength = Number(r.headers.get('inference-header-content-length'));
    const doc = JSON.parse(answer.subarray(0, jsonLength).toString());
    assert.deepEqual(doc.outputs, [{ name: 'prob', datatype: 'FP32', shape: [1, 10], parameters: { binary_data_size: 40 } }]);
    assert.equal(answer.length, jsonLength + 40);
    const out = new Float32Array(answer.buffer.slice(answer.byteOffset + jsonLength, answer.byteOffset + jsonLength + 40));
    close(out, await lenetTruth(x, 1));

    // binary_data_output asks for every output as binary; JSON inputs mix with it.
    const r2 = await fetch(`${base}/v2/models/tiny_ip/infer`, json({ parameters: { binary_data_output: true }, inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }));
    const b2 = Buffer.from(await r2.arrayBuffer());
    const n2 = Number(r2.headers.get('inference-header-content-length'));
    assert.deepEqual(JSON.parse(b2.subarray(0, n2).toString()).outputs[0].parameters, { binary_data_size: 8 });
    assert.deepEqual([b2.readFloatLE(n2), b2.readFloatLE(n2 + 4)], ipByHand([1, 2, 3]));
  });

  it('classify: the net\'s preprocessing, top-K with labels', async () => {
    // R 200, G 100, B 50: scores (50 - 10) * 0.5 = 20 (blue), (100 - 20) * 0.5 = 40 (green), (200 - 30) * 0.5 = 85 (red).
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toBuffer();
    const r = await fetch(`${base}/v2/models/cls/classify?top=2`, { method: 'POST', body: bytes(png), headers: { 'Content-Type': 'image/png' } });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { model: 'cls', top: [{ index: 2, score: 85, label: 'red' }, { index: 1, score: 40, label: 'green' }] });
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 250, b: 10 } } }).jpeg({ quality: 100 }).toBuffer();
    const top = (await (await fetch(`${base}/v2/models/cls/classify?top=1`, { method: 'POST', body: bytes(jpeg) })).json()).top;
    assert.equal(top[0].label, 'green');
  });

  it('classify on a segmentation net: the VOC colour mask, as JSON or as the PNG itself', async () => {
    // Pixels (RGB) and their class, the largest of B, G, R: red -> 2, green -> 1, blue -> 0, (10,200,30) -> 1, (200,10,100) -> 2, black -> 0 (a tie).
    const pixels = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30, 200, 10, 100, 0, 0, 0];
    const classes = [2, 1, 0, 1, 2, 0];
    const voc = [[0, 0, 0], [128, 0, 0], [0, 128, 0]];
    const image = await sharp(Buffer.from(pixels), { raw: { width: 3, height: 2, channels: 3 } }).png().toBuffer();
    const r = await fetch(`${base}/v2/models/seg/classify`, { method: 'POST', body: bytes(image) });
    assert.equal(r.status, 200);
    const doc = await r.json();
    assert.deepEqual([doc.model, doc.width, doc.height], ['seg', 3, 2]);
    assert.deepEqual(doc.classes.map((c: { index: number }) => c.index).sort(), [0, 1, 2]);
    assert.ok(doc.classes.every((c: { share: number }) => Math.abs(c.share - 1 / 3) < 1e-9));
    const m = /^data:image\/png;base64,(.+)$/.exec(doc.mask);
    assert.ok(m);
    const mask = await sharp(Buffer.from(m[1], 'base64')).raw().toBuffer();
    assert.deepEqual([...mask], classes.flatMap((k) => voc[k]));

    const raw = await fetch(`${base}/v2/models/seg/classify`, { method: 'POST', body: bytes(image), headers: { Accept: 'image/png' } });
    assert.equal(raw.headers.get('content-type'), 'image/png');
    assert.deepEqual([...(await sharp(Buffer.from(await raw.arrayBuffer())).raw().toBuffer())], classes.flatMap((k) => voc[k]));
  });

  it('the web page lists the models with their task', async () => {
    const r = await fetch(`${base}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const html = await r.text();
    assert.match(html, /value="cls" data-task="classify"/);
    assert.match(html, /value="seg" data-task="segment"/);
  });

  it('bad input: a 4xx with a JSON error that says what was wrong, and the server carries on', async () => {
    const infer = (model: string, body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${base}/v2/models/${model}/infer`, { method: 'POST', body: typeof body === 'string' ? body : bytes(body), headers });
    const input = (over: Record<string, unknown>) => JSON.stringify({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3], ...over }] });
    const binaryHeader = Buffer.from(JSON.stringify({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }));
    const cases: [string, Promise<Response>, number, RegExp][] = [
      ['malformed JSON', infer('tiny_ip', '{"inputs": [}'), 400, /not valid JSON/],
      ['not an object', infer('tiny_ip', '[1, 2]'), 400, /JSON object with "inputs"/],
      ['no inputs', infer('tiny_ip', '{"inputs": []}'), 400, /no "inputs"/],
      ['wrong datatype', infer('tiny_ip', input({ datatype: 'INT32' })), 400, /datatype "INT32": the model takes FP32/],
      ['wrong shape', infer('tiny_ip', input({ shape: [1, 4], data: [1, 2, 3, 4] })), 400, /shape \[1, 4\]: the model takes \[-1, 3\]/],
      ['wrong rank', infer('tiny_ip', input({ shape: [3] })), 400, /shape \[3\]: the model takes \[-1, 3\]/],
      ['too few values', infer('tiny_ip', input({ data: [1, 2] })), 400, /has 2 values: shape \[1, 3\] needs 3/],
      ['too many values', infer('tiny_ip', input({ data: [[1, 2, 3, 4]] })), 400, /has 4 values: shape \[1, 3\] needs 3/],
      ['not numbers', infer('tiny_ip', input({ data: [1, 'two', 3] })), 400, /holds "two": FP32 data must be numbers/],
      ['nested too deep', infer('tiny_ip', input({ data: [[[[1, 2, 3]]]] })), 400, /nested deeper than its 2 axes/],
      ['batch over --max-batch', infer('tiny_ip', input({ shape: [9, 3], data: new Array(27).fill(0) })), 400, /batch of 9, more than the server's --max-batch 8/],
      ['fixed batch', infer('fixed', input({ shape: [2, 3], data: new Array(6).fill(0) })), 400, /shape \[2, 3\]: the model takes \[1, 3\]/],
      ['unknown input', infer('tiny_ip', input({ name: 'dat' })), 400, /unknown input 'dat': the model 'tiny_ip' takes 'data'/],
      ['missing input', infer('two', JSON.stringify({ inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] })), 400, /missing input 'b' of the model 'two'/],
      ['unknown output', infer('tiny_ip', JSON.stringify({ inputs: JSON.parse(input({})).inputs, outputs: [{ name: 'prob' }] })), 400, /unknown output 'prob'/],
      ['short binary', infer('tiny_ip', Buffer.concat([binaryHeader, Buffer.alloc(8)]), { 'Inference-Header-Content-Length': String(binaryHeader.length) }),
        400, /needs 12 bytes of binary data, only 8 are left/],
      ['wrong binary size', infer('tiny_ip', input({ data: undefined, parameters: { binary_data_size: 8 } })), 400, /binary_data_size 8: shape \[1, 3\] in FP32 is 12 bytes/],
      ['bad header length', infer('tiny_ip', input({}), { 'Inference-Header-Content-Length': '100000' }), 400, /Inference-Header-Content-Length is '100000'/],
      ['body over --max-body', infer('lenet', Buffer.alloc(100_000, 32)), 413, /100000 bytes, over the server's limit of 65536 bytes \(--max-body\)/],
      ['undecodable image', fetch(`${base}/v2/models/cls/classify`, { method: 'POST', body: 'not an image' }), 400, /cannot decode the image: .*send a JPEG or PNG image/],
      ['empty image', fetch(`${base}/v2/models/cls/classify`, { method: 'POST', body: '' }), 400, /the body is empty/],
      ['bad top', fetch(`${base}/v2/models/cls/classify?top=0`, { method: 'POST', body: 'x' }), 400, /top=0: give a whole number/],
      ['classify on a tensor model', fetch(`${base}/v2/models/tiny_ip/classify`, { method: 'POST', body: 'x' }), 400, /takes \[-1, 3\], not an N x \(1 or 3\) x H x W image/],
      ['unknown model', infer('nope', input({})), 404, /unknown model 'nope': this server has 'tiny_ip', 'two', 'cls', 'seg', 'lenet', 'fixed'/],
      ['unknown version', fetch(`${base}/v2/models/lenet/versions/2`), 404, /no version '2'/],
      ['unknown endpoint', fetch(`${base}/v2/models/lenet/explain`, { method: 'POST' }), 404, /no endpoint/],
      ['wrong method', fetch(`${base}/v2/models/tiny_ip/infer`), 405, /GET \/v2\/models\/tiny_ip\/infer: use POST/],
      ['wrong method on metadata', fetch(`${base}/v2/models/tiny_ip`, { method: 'DELETE' }), 405, /use GET/],
    ];
    for (const [what, pending, status, message] of cases) {
      const r = await pending;
      assert.equal(r.status, status, what);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
      const body = await r.json();
      assert.deepEqual(Object.keys(body), ['error'], what);
      assert.match(body.error, message, `${what}: ${body.error}`);
    }
    // A streamed body (no Content-Length) over the limit is cut off too.
    let sent = 0;
    const stream = new ReadableStream({
      pull(c) {
        if (sent >= 10_000_000) c.close();
        else {
          c.enqueue(new Uint8Array(65536));
          sent += 65536;
        }
      },
    });
    const streamed = await fetch(`${base}/v2/models/lenet/infer`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.match((await streamed.json()).error, /the body goes over the server's limit of 65536 bytes/);
    assert.ok(sent < 10_000_000, 'the server stopped reading');

    // Wrong method carries Allow; nothing is left queued; the server still answers.
    assert.equal((await fetch(`${base}/v2/models/tiny_ip/infer`)).headers.get('allow'), 'POST');
    assert.equal(await metric(base, 'caffe_tool_queue_depth{model="tiny_ip"}'), 0);
    const ok = await (await fetch(`${base}/v2/models/tiny_ip/infer`, json({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: [0, 0, 1] }] }))).json();
    assert.deepEqual(ok.outputs[0].data, ipByHand([0, 0, 1]));
    assert.ok((await metric(base, 'caffe_tool_requests_total{model="tiny_ip",endpoint="infer",status="400"}'))! >= 10);
  });
});

describe('caffe-tool serve: batching and the queue', () => {
  it('concurrent requests run as one batch and each caller gets its own slice', async () => {
    const server = await startServer({ port: 0, maxDelayMs: 300, maxBatch: 8, models: [{ model: path('ip.prototxt'), weights: path('ip.caffemodel') }] });
    try {
      const xs = Array.from({ length: 6 }, (_, i) => [i, 1 - i, 2 * i]);
      const answers = await Promise.all(xs.map((x) => fetch(`${server.url}/v2/models/tiny_ip/infer`, json({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: x }] })).then((r) => r.json())));
      answers.forEach((a, i) => assert.deepEqual(a.outputs[0].data, ipByHand(xs[i]), `caller ${i}`));
      const count = await metric(server.url, 'caffe_tool_batch_size_count{model="tiny_ip"}');
      const sum = await metric(server.url, 'caffe_tool_batch_size_sum{model="tiny_ip"}');
      const ones = await metric(server.url, 'caffe_tool_batch_size_bucket{model="tiny_ip",le="1"}');
      // The warm-up call is not counted: 6 items in fewer calls than requests, at least one batch of more than 1.
      assert.equal(sum, 6);
      assert.ok(count! < 6 && ones! < count!, `batches: ${count}, of one item: ${ones}`);
    } finally {
      await server.close();
    }
  });

  it('a full queue answers 503 with Retry-After; the queued requests still finish', async () => {
    const server = await startServer({ port: 0, maxDelayMs: 800, maxBatch: 4, maxQueue: 2, models: [{ model: path('ip.prototxt'), weights: path('ip.caffemodel') }] });
    try {
      const xs = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
      const rs = await Promise.all(xs.map((x) => fetch(`${server.url}/v2/models/tiny_ip/infer`, json({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: x }] }))));
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 503]);
      for (const [i, r] of rs.entries()) {
        const body = await r.json();
        if (r.status === 503) {
          assert.equal(r.headers.get('retry-after'), '1');
          assert.match(body.error, /queue is full/);
        } else assert.deepEqual(body.outputs[0].data, ipByHand(xs[i]));
      }
      assert.equal(await metric(server.url, 'caffe_tool_requests_total{model="tiny_ip",endpoint="infer",status="503"}'), 1);
    } finally {
      await server.close();
    }
  });
});

describe('caffe-tool serve: the command', () => {
  it('prints where it listens, serves --model-spec models, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--max-delay-ms', '1500',
      '--model-spec', `ip=${path('ip.prototxt')},${path('ip.caffemodel')}`, '--model-spec', `fixed=${path('fixed.onnx')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    assert.deepEqual((await (await fetch(`${base}/v2/models/fixed`)).json()).inputs[0].shape, [1, 3]);
    const inFlight = fetch(`${base}/v2/models/ip/infer`, json({ inputs: [{ name: 'data', shape: [1, 3], datatype: 'FP32', data: [3, 2, 1] }] }));
    // Wait until the request is queued (it waits up to 1.5 s for company), then ask the server to stop.
    for (let i = 0; i < 100 && (await metric(base, 'caffe_tool_queue_depth{model="ip"}')) !== 1; i++) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    child.kill('SIGTERM');
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).outputs[0].data, ipByHand([3, 2, 1]));
    assert.equal(await exited, 0, stderr);
    assert.ok(performance.now() - t0 < 1400, 'the queued request ran at once instead of waiting out its delay');
    assert.match(stderr, /SIGTERM: finishing the requests in flight/);
    await assert.rejects(fetch(`${base}/v2/health/live`));
  });

  it('refuses bad flags with exit code 2', async () => {
    const runCli = (...args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, 'serve', ...args]);
      let stderr = '';
      c.stderr.on('data', (d) => (stderr += d));
      c.once('exit', (code) => resolve({ code, stderr }));
    });
    const spec = await runCli('--model-spec', 'nameonly');
    assert.equal(spec.code, 2);
    assert.match(spec.stderr, /--model-spec takes NAME=net\.prototxt,weights\.caffemodel or NAME=model\.onnx/);
    const none = await runCli('--port', '0');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /serve needs a model/);
    const port = await runCli('--onnx', path('fixed.onnx'), '--port', 'x');
    assert.equal(port.code, 2);
    const dup = await runCli('--model-spec', `a=${path('fixed.onnx')}`, '--model-spec', `a=${path('fixed.onnx')}`, '--port', '0');
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /two models are named 'a'/);
  });
});
