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
