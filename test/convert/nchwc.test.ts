// The NCHWc layout laid out by the export for a CPU session (convert/onnx/nchwc.ts) against ONNX Runtime doing it
// itself: the plain model, which ONNX Runtime's NchwcTransformer rewrites at the session's start, is the reference.
// Same seeded weights, same input; the outputs must agree to float rounding (they are mostly bit for bit equal).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { parseCaffeText } from '../../src/io/files.js';
import { loadNet } from '../../src/net/load.js';
import { buildNet, type Net } from '../../src/net/net.js';
import { fillRandomWeights } from '../../src/net/weights.js';
import { nchwcBlockSize } from '../../src/runtime/nchwc.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { fixture } from '../helpers.js';

const block = await nchwcBlockSize();
const skip = block === undefined ? 'this CPU has no NCHWc kernels (neither AVX2 nor AVX-512): nothing is laid out' : undefined;

function input(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 500 - 1);
}

/** Runs `make()`'s net exported plain and laid out; returns the worst |difference| per output and the laid-out nodes. */
async function compareLayouts(make: () => Net, inputName: string, shape: number[], outputs?: string[]) {
  const plain = exportOnnx(make(), { outputs });
  const laid = exportOnnx(make(), { outputs, forSession: true, nchwcBlock: block });
  const [a, b] = [await createSession(plain.model), await createSession(laid.model, undefined, laid.externalData)];
  try {
    const x = { [inputName]: { data: input(shape.reduce((p, d) => p * d, 1)), dims: shape } };
    const [ya, yb] = [await runSession(a, x), await runSession(b, x)];
    const worst: Record<string, { diff: number; scale: number }> = {};
    for (const name of Object.keys(ya)) {
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < ya[name].data.length; i++) {
        diff = Math.max(diff, Math.abs(ya[name].data[i] - yb[name].data[i]));
        scale = Math.max(scale, Math.abs(ya[name].data[i]));
      }
      assert.deepEqual(yb[name].dims, ya[name].dims, `${name}: shape`);
      worst[name] = { diff, scale };
    }
    const nodes = onnxProto.onnx.ModelProto.decode(laid.model).graph!.node!;
    return { worst, nodes };
  } finally {
    await a.release();
    await b.release();
  }
}

const ops = (nodes: onnxProto.onnx.INodeProto[]) => nodes.map((n) => `${n.domain ? 'nchwc.' : ''}${n.opType}`);

describe('NCHWc layout in the export: whole nets give what ONNX Runtime\'s own rewrite gives', { skip }, () => {
  for (const name of ['resnet50', 'mobilenet', 'googlenet', 'squeezenet', 'enet']) {
    it(name, async () => {
      const meta = JSON.parse(readFileSync(join(fixture('onnx_nets'), name, 'meta.json'), 'utf8')) as { net: string; input: string; shape: number[]; outputs: string[]; seed: number };
      const make = () => {
        const { net } = loadNet(fixture('nets', meta.net), { inputs: { [meta.input]: meta.shape } });
        fillRandomWeights(net, meta.seed);
        return net;
      };
      const { worst, nodes } = await compareLayouts(make, meta.input, meta.shape, meta.outputs);
      for (const [o, w] of Object.entries(worst)) assert.ok(w.diff <= 1e-6 * Math.max(1, w.scale), `${o}: off by ${w.diff} (outputs up to ${w.scale})`);
      assert.ok(ops(nodes).includes('nchwc.Conv'), 'no blocked convolution');
      if (name === 'resnet50' || name === 'mobilenet') assert.ok(!ops(nodes).includes('Conv'), `a plain Conv is left: ${ops(nodes).join(' ')}`);
    });
  }
});

describe('NCHWc layout in the export: the rewrites one by one', { skip }, () => {
  const b = block ?? 8;
  // A 3-channel input conv (OIHWBo filter, NCHW input), a conv with an odd output count (padded to the block, with
  // its bias), a depthwise conv, a grouped conv, pooling, a residual Add with a ReLU after it, a Concat.
  const text = `name: "t" input: "data" input_shape { dim: 2 dim: 3 dim: 12 dim: 12 }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: ${2 * b} kernel_size: 3 pad: 1 } }
layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }
layer { name: "dw" type: "Convolution" bottom: "c1" top: "dw" convolution_param { num_output: ${2 * b} group: ${2 * b} kernel_size: 3 pad: 1 } }
layer { name: "g" type: "Convolution" bottom: "dw" top: "g" convolution_param { num_output: ${2 * b} group: 2 kernel_size: 1 } }
layer { name: "sum" type: "Eltwise" bottom: "g" bottom: "c1" top: "sum" }
layer { name: "r2" type: "ReLU" bottom: "sum" top: "sum" }
layer { name: "pool" type: "Pooling" bottom: "sum" top: "pool" pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "odd" type: "Convolution" bottom: "pool" top: "odd" convolution_param { num_output: ${b + 3} kernel_size: 1 } }
layer { name: "ave" type: "Pooling" bottom: "pool" top: "ave" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "cat" type: "Concat" bottom: "pool" bottom: "pool" top: "cat" }
`;
  const make = () => {
    const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message);
    fillRandomWeights(net, 3);
    return net;
  };

  it('the outputs equal the plain model\'s under ONNX Runtime, and each rewrite is there', async () => {
    const { worst, nodes } = await compareLayouts(make, 'data', [2, 3, 12, 12]);
    assert.deepEqual(Object.keys(worst).sort(), ['ave', 'cat', 'odd']);
    for (const [o, w] of Object.entries(worst)) assert.ok(w.diff <= 1e-6 * Math.max(1, w.scale), `${o}: off by ${w.diff}`);
    const conv = (n: string) => nodes.find((x) => x.opType === 'Conv' && x.name!.startsWith(`${n}_`))!;
    assert.equal(conv('c1').input![0], 'data', 'the 3-channel conv reads the NCHW input itself');
    assert.equal(Buffer.from(conv('c1').attribute!.find((a) => a.name === 'activation')!.s!).toString(), 'Relu');
    // The Add is taken into the first of its inputs written by a conv (g), which reads c1's blocked output as its
    // Sum, with r2 as its activation.
    const g = conv('g');
    assert.equal(g.input!.length, 4);
    assert.equal(g.input![3], conv('c1').output![0]);
    assert.equal(Buffer.from(g.attribute!.find((a) => a.name === 'activation')!.s!).toString(), 'Relu');
    assert.ok(!ops(nodes).includes('Add') && !ops(nodes).includes('Relu'));
    assert.ok(ops(nodes).includes('nchwc.MaxPool') && ops(nodes).includes('nchwc.AveragePool'));
    // Back to NCHW only where a plain node or an output reads: the outputs, and AVE's divisor Mul.
    const reorderOut = nodes.filter((n) => n.opType === 'ReorderOutput').map((n) => n.output![0]);
    assert.equal(reorderOut.length, 3);
    assert.ok(reorderOut.includes('cat') && reorderOut.includes('odd'));
    assert.equal(Number(nodes.find((n) => n.output![0] === 'odd')!.attribute![0].i), b + 3, 'odd: back to its own channel count');
  });

  it('the net\'s weights are rewritten in place, so a second export is refused', () => {
    const net = make();
    exportOnnx(net, { forSession: true, nchwcBlock: b });
    assert.throws(() => exportOnnx(net), /exported forSession already/);
  });
});
