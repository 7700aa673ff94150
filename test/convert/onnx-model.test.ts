// The hand-written parts of the ONNX encoder: initializers written straight into the model's bytes (with the
// padding that aligns a folded weight) must decode in protobufjs and run in ONNX Runtime (C++ protobuf) to the
// values computed here by hand; the session form hands the large weights over as external data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { OnnxGraph } from '../../src/convert/onnx/graph.js';
import { encodeForSession, encodeModel, type ScaledWeight } from '../../src/convert/onnx/model.js';
import { createSession, runSession } from '../../src/runtime/session.js';

const meta = { name: 'test', producerVersion: '0' };
const C = 3; // output channels
const K = 400; // input channels of the 1x1 convolution: 1,200 weights, over the 1 KiB that goes external

/** y[o] = sum_i w[o][i] * x[i] + b[o] for a 1x1 convolution on a 1 x K x 1 x 1 input, in float64. */
function conv1x1(w: Float32Array, b: Float32Array, x: Float32Array): number[] {
  return Array.from({ length: C }, (_, o) => {
    let s = b[o];
    for (let i = 0; i < K; i++) s += w[o * K + i] * x[i];
    return s;
  });
}

/**
 * A graph whose first initializer has `lead` bytes, so the folded weight after it lands at every offset mod 4:
 * y = Conv(x, W * scale, b), with W scaled per output channel by the encoder.
 */
function graph(lead: number, name: string) {
  const g = new OnnxGraph(17);
  g.inputs.push({ name: 'x', shape: [1, K, 1, 1] });
  g.outputs.push({ name: 'y', shape: [1, C, 1, 1] }, { name: 'lead_out', shape: [lead], elemType: 2 });
  g.node('Identity', [g.initializer('lead', Uint8Array.from({ length: lead }, (_, i) => i + 1), [lead])], { outputs: ['lead_out'] });
  const source = Float32Array.from({ length: C * K }, (_, i) => Math.sin(i + lead) / 7);
  const scale = Float64Array.from([1 / 3, -2.5, 1e-3]);
  const w = g.initializer(name, source, [C, K, 1, 1]);
  const b = g.initializer('b', Float32Array.from([0.25, -1, 2]), [C]);
  g.node('Conv', ['x', w, b], { outputs: ['y'] });
  const scaled = new Map<string, ScaledWeight>([[w, { source, scale }]]);
  const expected = Float32Array.from(source, (v, k) => v * scale[Math.floor(k / K)]);
  return { g, w, scaled, source, expected };
}

const x = Float32Array.from({ length: K }, (_, i) => Math.cos(i) / 2);
const bias = Float32Array.from([0.25, -1, 2]);

describe('ONNX model bytes', () => {
  for (const lead of [1, 2, 3, 4]) {
    for (const name of ['W', 'a_much_longer_weight_name']) {
      it(`a folded weight after ${lead} bytes, named '${name}': protobufjs decodes it, ONNX Runtime runs it`, async () => {
        const { g, w, scaled, expected } = graph(lead, name);
        const bytes = encodeModel(g, meta, scaled);
        const model = onnxProto.onnx.ModelProto.decode(bytes);
        assert.equal(model.graph!.name, 'test');
        assert.deepEqual(model.graph!.node!.map((n) => n.opType), ['Identity', 'Conv']);
        const byName = new Map(model.graph!.initializer!.map((t) => [t.name, t]));
        assert.deepEqual([...byName.keys()], ['lead', w, 'b']);
        const t = byName.get(w)!;
        assert.deepEqual(t.dims!.map(Number), [C, K, 1, 1]);
        assert.equal(t.dataType, onnxProto.onnx.TensorProto.DataType.FLOAT);
        const raw = t.rawData!;
        assert.deepEqual(new Float32Array(new Uint8Array(raw).buffer), expected);
        assert.deepEqual([...byName.get('lead')!.rawData!], Array.from({ length: lead }, (_, i) => i + 1));

        const out = await runSession(await createSession(bytes), { x: { data: x, dims: [1, K, 1, 1] } });
        const want = conv1x1(expected, bias, x);
        for (let o = 0; o < C; o++) assert.ok(Math.abs(out.y.data[o] - want[o]) <= 1e-5 * (1 + Math.abs(want[o])), `y[${o}] ${out.y.data[o]} != ${want[o]}`);
      });
    }
  }

  it('the session form: the weight is scaled in its own array and handed over as external data', async () => {
    const { g, w, scaled, source, expected } = graph(3, 'W');
    const { model, externalData } = encodeForSession(g, meta, scaled);
    assert.equal(externalData.length, 1);
    assert.deepEqual(source, expected);
    assert.equal(externalData[0].data.buffer, source.buffer);
    const t = onnxProto.onnx.ModelProto.decode(model).graph!.initializer!.find((i) => i.name === w)!;
    assert.equal(t.dataLocation, onnxProto.onnx.TensorProto.DataLocation.EXTERNAL);
    assert.deepEqual(t.externalData!.map((e) => [e.key, e.value]), [['location', externalData[0].path], ['offset', '0'], ['length', String(C * K * 4)]]);
    const session = await createSession(model, undefined, externalData);
    // ONNX Runtime keeps its own copy: the buffers may change or go once the session exists.
    source.fill(0);
    const out = await runSession(session, { x: { data: x, dims: [1, K, 1, 1] } });
    const want = conv1x1(expected, bias, x);
    for (let o = 0; o < C; o++) assert.ok(Math.abs(out.y.data[o] - want[o]) <= 1e-5 * (1 + Math.abs(want[o])));
  });

  it('the session form leaves a source alone when another initializer reads the same memory', () => {
    const { g, scaled, source } = graph(1, 'W');
    const before = source.slice();
    g.initializer('alias', source.subarray(K), [2 * K]);
    const { externalData } = encodeForSession(g, meta, scaled);
    assert.deepEqual(source, before);
    assert.equal(externalData.length, 2);
    assert.notEqual(externalData[0].data.buffer, source.buffer);
  });
});

describe('OnnxGraph.prune', () => {
  it('drops what no output reads, keeps a node with one output read, and forgets dropped shared constants', () => {
    const g = new OnnxGraph(17);
    g.inputs.push({ name: 'x', shape: [2], elemType: 1 });
    const two = g.float32([2], []);
    const kept = g.node('Mul', ['x', two], { name: 'kept' });
    g.node('Add', [g.node('Mul', ['x', g.float32([3], [])], { name: 'dead_mul' }), two], { name: 'dead_add' });
    const [first] = g.nodeN('TopK', [kept, g.int64([1])], 2, { name: 'topk' });
    g.outputs.push({ name: first });
    g.prune();
    assert.deepEqual(g.nodes.map((n) => n.name), ['kept', 'topk']);
    assert.deepEqual(g.initializers.map((t) => Array.from(t.data as ArrayLike<number | bigint>).map(Number)), [[2], [1]]);
    // The constant 3 went with its node: asking for it again makes a new initializer, not a dangling name.
    const three = g.float32([3], []);
    assert.ok(g.initializers.some((t) => t.name === three));
  });
});
