// fc-to-conv: checked by running the net before and after through ONNX Runtime on the same input, and on a
// transposed InnerProduct worked by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { parseCaffeText, readCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { buildNet, type Net } from '../../src/net/net.js';
import { loadNet } from '../../src/net/load.js';
import { attachWeights, fillRandomWeights } from '../../src/net/weights.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { makeDeploy } from '../../src/surgery/deploy.js';
import { convertBlobs, convertWeights, fcToConv } from '../../src/surgery/fc-to-conv.js';
import { fixture } from '../helpers.js';

const net = (text: string) => parseCaffeText(text, { kinds: ['net'] }).message;

async function forward(n: Net, input: Float32Array, outputs: string[]) {
  const { model } = exportOnnx(n, { outputs });
  const session = await createSession(model);
  const x = n.inputs()[0] ?? n.layers[0].tops[0];
  return runSession(session, { [x.name]: { data: input, dims: x.shape! } });
}

function randomInput(count: number, seed = 7): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}

function weightsOf(n: Net): Message {
  return { name: n.name, layer: n.layers.filter((l) => l.weights).map((l) => ({ name: l.name, type: l.type, blobs: l.weights })) };
}

function assertClose(a: Float32Array, b: Float32Array, rel = 1e-5) {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= rel * Math.max(scale, 1e-6), `value ${i}: ${a[i]} vs ${b[i]}`);
}

async function checkEquivalent(param: Message, dialect: 'bvlc', outputs: string[], trained?: Message) {
  const before = buildNet(param, { dialect });
  if (trained) attachWeights(before, trained);
  fillRandomWeights(before, 3); // the layers without trained weights
  const r = fcToConv(param, { dialect });
  const after = buildNet(r.param, { dialect });
  const { weights, missing } = convertWeights(weightsOf(before), r);
  assert.deepEqual(missing, []);
  attachWeights(after, weights);
  const x = before.inputs()[0] ?? before.layers[0].tops[0];
  const input = randomInput(x.shape!.reduce((a, b) => a * b, 1));
  const [y0, y1] = [await forward(before, input, outputs), await forward(after, input, outputs)];
  for (const o of outputs) {
    assert.equal(y1[o].dims.length, 4, `${o} is N x C x 1 x 1 after`);
    assert.deepEqual(y1[o].dims, [...y0[o].dims, 1, 1]);
    assertClose(y0[o].data, y1[o].data);
  }
  return r;
}

describe('fc-to-conv', () => {
  it('LeNet: ip1 (on 50x4x4) becomes a 4x4 convolution, ip2 a 1x1 one, same outputs through ONNX Runtime', async () => {
    const { param } = loadNet(fixture('nets', 'lenet_train_test.prototxt'));
    const deploy = makeDeploy(param, { inputs: { data: [2, 1, 28, 28] } });
    // The fixture's trained conv1/conv2/ip2 blobs, ip1 random.
    const file = readCaffeFile(fixture('binary', 'lenet_weights.caffemodel'));
    const trained = (file.message.layer as Message[]).filter((l) => ((l.blobs as Message[] | undefined) ?? []).length);
    assert.deepEqual(trained.map((l) => l.name), ['conv1', 'conv2', 'ip2']);
    const r = await checkEquivalent(deploy.param, 'bvlc', ['ip2', 'prob'], { layer: trained });
    assert.deepEqual(r.converted.map((c) => [c.name, c.kernel, c.numOutput]), [['ip1', [4, 4], 500], ['ip2', [1, 1], 10]]);
    const ip1 = (r.param.layer as Message[]).find((l) => l.name === 'ip1')!;
    assert.equal(ip1.type, 'Convolution');
    assert.equal(ip1.inner_product_param, undefined);
    assert.deepEqual((ip1.convolution_param as Message).kernel_size, [4]);
    assert.deepEqual((ip1.convolution_param as Message).weight_filler, { type: 'xavier' });
  });

  it('a transposed InnerProduct on a non-square input, then a plain one: same outputs', async () => {
    const p = net(`
      layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 dim: 2 dim: 3 } } }
      layer { name: "fa" type: "InnerProduct" bottom: "x" top: "fa" inner_product_param { num_output: 4 transpose: true } }
      layer { name: "r" type: "ReLU" bottom: "fa" top: "fa" }
      layer { name: "fb" type: "InnerProduct" bottom: "fa" top: "fb" inner_product_param { num_output: 5 bias_term: false } }
    `);
    const r = await checkEquivalent(p, 'bvlc', ['fb']);
    const fa = (r.param.layer as Message[])[1].convolution_param as Message;
    assert.equal(fa.kernel_h, 2);
    assert.equal(fa.kernel_w, 3);
    assert.equal(((r.param.layer as Message[])[3].convolution_param as Message).bias_term, false);
  });

  it('moves the weights as Caffe lays them out (worked by hand)', () => {
    // K = C*H*W = 2 (C 2, H 1, W 1), N = 3. Plain [N, K] keeps its memory; transposed [K, N] = [[1,2,3],[4,5,6]]
    // is [N, K] = [[1,4],[2,5],[3,6]].
    const c = { name: 'fc', input: [1, 2, 1, 1], kernel: [1, 1] as [number, number], numOutput: 3, transposed: true };
    const blobs = [{ shape: { dim: [2, 3] }, data: Float32Array.of(1, 2, 3, 4, 5, 6) }, { shape: { dim: [3] }, data: Float32Array.of(7, 8, 9) }];
    const t = convertBlobs(c, blobs);
    assert.deepEqual(Array.from(t[0].data as Float32Array), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual((t[0].shape as Message).dim, [3, 2, 1, 1]);
    assert.deepEqual(Array.from(t[1].data as Float32Array), [7, 8, 9]);
    const plain = convertBlobs({ ...c, transposed: false }, [{ shape: { dim: [3, 2] }, data: Float32Array.of(1, 2, 3, 4, 5, 6) }]);
    assert.deepEqual(Array.from(plain[0].data as Float32Array), [1, 2, 3, 4, 5, 6]);
  });

  it('refuses what is not an InnerProduct after a spatial blob, naming the layer', () => {
    const { param } = loadNet(fixture('nets', 'caffenet_deploy_input_shape.prototxt'));
    assert.throws(() => fcToConv(param, { layers: ['conv1'] }), /layer 'conv1' is a Convolution, not an InnerProduct/);
    assert.throws(() => fcToConv(param, { layers: ['fc7'] }), /'fc7' reads a 10x4096 blob/);
    assert.throws(() => fcToConv(param, { layers: ['fc9'] }), /no layer 'fc9'/);
    const r = fcToConv(param, {});
    assert.deepEqual(r.converted.map((c) => [c.name, c.kernel]), [['fc6', [6, 6]], ['fc7', [1, 1]], ['fc8', [1, 1]]]);
    assert.deepEqual(r.net.outputs()[0].shape, [10, 1000, 1, 1]);
  });
});
