// Folding BatchNorm/Scale into the convolution at export: the same outputs as the unfolded graph (whose
// layers are checked against OpenCV), fewer nodes, and nothing folded where another layer reads the conv.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { parseCaffeText } from '../../src/io/files.js';
import { buildNet } from '../../src/net/net.js';
import { loadNet, loadWeights } from '../../src/net/load.js';
import { fillRandomWeights } from '../../src/net/weights.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { fixture } from '../helpers.js';
import { compare } from './compare.js';

const ops = (model: Uint8Array) => onnxProto.onnx.ModelProto.decode(model).graph!.node!.map((n) => n.opType);

async function outputs(model: Uint8Array, shape: number[]) {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
  return runSession(await createSession(model), { data: { data: x, dims: shape } });
}

describe('folding BatchNorm and Scale into the convolution', () => {
  it('TinyBN: conv1 + bn1 + scale1 become one Conv with the same output', async () => {
    const { net } = loadNet(fixture('nets', 'tiny_bn.prototxt'));
    loadWeights(net, fixture('binary', 'tiny_bn.caffemodel'));
    const folded = exportOnnx(net).model;
    const plain = exportOnnx(net, { fold: false }).model;
    assert.deepEqual(ops(plain), ['Conv', 'BatchNormalization', 'Mul', 'Add', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Softmax']);
    assert.deepEqual(ops(folded), ['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Softmax']);
    const [a, b] = [await outputs(folded, [1, 3, 8, 8]), await outputs(plain, [1, 3, 8, 8])];
    assert.ok(compare(a.prob.data, b.prob.data, 1e-5, 1e-7).worst <= 1);
  });

  it('forSession: the same output from the weights folded in the net\'s own arrays, and no second export', async () => {
    const { net } = loadNet(fixture('nets', 'tiny_bn.prototxt'));
    loadWeights(net, fixture('binary', 'tiny_bn.caffemodel'));
    const plain = await outputs(exportOnnx(net, { fold: false }).model, [1, 3, 8, 8]);
    const conv = net.layers.find((l) => l.name === 'conv1')!;
    const before = Float32Array.from(conv.weights![0].data as Float32Array);
    const exported = exportOnnx(net, { forSession: true });
    // conv1's 108 weights stay inside the model (under 1 KiB): there they are the net's array, now folded.
    assert.notDeepEqual(conv.weights![0].data, before);
    const w = onnxProto.onnx.ModelProto.decode(exported.model).graph!.initializer!.find((t) => t.name!.endsWith('_W_folded'))!;
    assert.deepEqual(new Float32Array(new Uint8Array(w.rawData!).buffer), conv.weights![0].data);
    // fc's 5 x 64 weights (1,280 bytes) are external data: the net's own array, not a copy.
    const fc = net.layers.find((l) => l.type === 'InnerProduct')!;
    assert.deepEqual(exported.externalData!.map((e) => e.data.buffer), [(fc.weights![0].data as Float32Array).buffer]);
    const n = 3 * 8 * 8;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
    const session = await createSession(exported.model, undefined, exported.externalData);
    const got = await runSession(session, { data: { data: x, dims: [1, 3, 8, 8] } });
    assert.ok(compare(got.prob.data, plain.prob.data, 1e-5, 1e-7).worst <= 1);
    assert.throws(() => exportOnnx(net), /exported forSession already/);
  });

  it('leaves the BatchNorm alone when another layer reads the convolution', () => {
    const text = `layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
      layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 1 } }
      layer { name: "bn" type: "BatchNorm" bottom: "c" top: "bn" }
      layer { name: "sum" type: "Eltwise" bottom: "c" bottom: "bn" top: "sum" }`;
    const file = parseCaffeText(text, { kinds: ['net'] });
    const net = buildNet(file.message);
    fillRandomWeights(net);
    assert.deepEqual(ops(exportOnnx(net).model), ['Conv', 'BatchNormalization', 'Add']);
  });
});
