// edit: rename, remove (with rewiring), input shapes, num_output with Caffe's fillers (fan values worked by hand
// from filler.hpp: fan_in = count / num, fan_out = count / channels).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCaffeText } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { buildNet } from '../../src/net/net.js';
import { loadNet } from '../../src/net/load.js';
import { removeLayer, renameLayer, setInputShape, setNumOutput, type EditContext } from '../../src/surgery/edit.js';
import { fill, fillerFan, Rng } from '../../src/surgery/fillers.js';
import { fixture } from '../helpers.js';

const net = (text: string) => parseCaffeText(text, { kinds: ['net'] }).message;
const ctx = (weights?: Message): EditContext => ({ notes: [], weights });
const layers = (p: Message) => p.layer as Message[];
const wiring = (p: Message) => layers(p).map((l) => `${l.name}: ${((l.bottom as string[]) ?? []).join(',')} -> ${((l.top as string[]) ?? []).join(',')}`);

const CHAIN = `
  layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
  layer { name: "conv" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 4 kernel_size: 3
    weight_filler { type: "msra" } bias_filler { type: "constant" value: 0.5 } } }
  layer { name: "drop" type: "Dropout" bottom: "c" top: "d" }
  layer { name: "relu" type: "ReLU" bottom: "d" top: "d" }
  layer { name: "pool" type: "Pooling" bottom: "d" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
  layer { name: "fc" type: "InnerProduct" bottom: "p" top: "fc" inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
  layer { name: "cat" type: "Concat" bottom: "fc" bottom: "fc" top: "cat" }
`;

describe('fillers', () => {
  it("fan_in, fan_out and their average as filler.hpp computes them", () => {
    // Convolution [50, 20, 5, 5]: count 25000, fan_in 25000/50 = 500, fan_out 25000/20 = 1250, average 875.
    assert.equal(fillerFan([50, 20, 5, 5]), 500);
    assert.equal(fillerFan([50, 20, 5, 5], 'FAN_OUT'), 1250);
    assert.equal(fillerFan([50, 20, 5, 5], 'AVERAGE'), 875);
    // InnerProduct [10, 500]: fan_in 500, fan_out 10; a bias [10]: channels counts as 1, fan_out 10.
    assert.equal(fillerFan([10, 500]), 500);
    assert.equal(fillerFan([10, 500], 'FAN_OUT'), 10);
    assert.equal(fillerFan([10], 'FAN_OUT'), 10);
  });

  it('values in the right range with the right spread', () => {
    const rng = new Rng(5);
    assert.deepEqual(Array.from(fill([3], { type: 'constant', value: 0.25 }, rng)), [0.25, 0.25, 0.25]);
    assert.deepEqual(Array.from(fill([2], undefined, rng)), [0, 0]);
    const u = fill([4000], { type: 'uniform', min: -2, max: 3 }, rng);
    assert.ok(u.every((v) => v >= -2 && v < 3));
    const x = fill([50, 20, 5, 5], { type: 'xavier' }, rng);
    const scale = Math.sqrt(3 / 500);
    assert.ok(x.every((v) => Math.abs(v) <= scale));
    const variance = (a: Float32Array, mean = 0) => a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    assert.ok(Math.abs(variance(x) / (scale * scale / 3) - 1) < 0.05); // uniform(-a, a) has variance a^2/3
    const m = fill([50, 20, 5, 5], { type: 'msra', variance_norm: 'FAN_OUT' }, rng);
    assert.ok(Math.abs(variance(m) / (2 / 1250) - 1) < 0.05);
    const g = fill([20000], { type: 'gaussian', mean: 1, std: 0.5 }, rng);
    assert.ok(Math.abs(g.reduce((s, v) => s + v, 0) / g.length - 1) < 0.02);
    assert.ok(Math.abs(Math.sqrt(variance(g, 1)) / 0.5 - 1) < 0.03);
    const sparse = fill([10, 1000], { type: 'gaussian', sparse: 2 }, rng); // keeps 2/10 of the weights
    const kept = sparse.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0) / sparse.length;
    assert.ok(Math.abs(kept - 0.2) < 0.02);
    assert.throws(() => fill([2], { type: 'orthogonal' }, rng), /filler type 'orthogonal' is not supported/);
    // What Caffe's CHECKs refuse: sigma > 0, a <= b, a Bernoulli probability sparse / outputs <= 1.
    assert.throws(() => fill([2], { type: 'gaussian', std: 0 }, rng), /std 0 must be above 0/);
    assert.throws(() => fill([2], { type: 'uniform', min: 1, max: 0 }, rng), /min 1 is above max 0/);
    assert.throws(() => fill([10, 4], { type: 'gaussian', sparse: 11 }, rng), /sparse 11 is more than the 10 outputs/);
  });
});

describe('edit', () => {
  it('renames a layer in the net and the weights', () => {
    const p = net(CHAIN);
    const w = { layer: [{ name: 'conv', blobs: [] }] };
    const c = ctx(w);
    renameLayer(p, 'conv', 'conv_a', c);
    assert.equal(layers(p)[1].name, 'conv_a');
    assert.deepEqual(layers(p)[1].top, ['c']);
    assert.equal(w.layer[0].name, 'conv_a');
    assert.throws(() => renameLayer(p, 'cnv', 'z', c), /no layer 'cnv'[^]*/);
    assert.throws(() => renameLayer(p, 'drop', 'relu', c), /'relu' exists already/);
  });

  it('removes a layer and wires its readers (in-place ones too) to its bottom', () => {
    const p = net(CHAIN);
    removeLayer(p, 'drop', ctx());
    assert.deepEqual(wiring(p).slice(1, 4), ['conv: x -> c', 'relu: c -> c', 'pool: c -> p']);
    buildNet(p);
    const q = net(CHAIN);
    removeLayer(q, 'relu', ctx());
    assert.deepEqual(wiring(q).slice(2, 4), ['drop: c -> d', 'pool: d -> p']);
  });

  it('refuses a removal that would change the shapes after it, or a layer with several bottoms', () => {
    assert.throws(() => removeLayer(net(CHAIN), 'pool', ctx()), /cannot remove 'pool': its output \(1x4x3x3\) is not its input \(1x4x6x6\)[^]*fc 5x36, 5 -> 5x144, 5/);
    assert.throws(() => removeLayer(net(CHAIN), 'cat', ctx()), /it has 2 bottoms and 1 top/);
  });

  it("sets an Input layer's shape and the legacy input's, and says which weights stop fitting", () => {
    const p = net(CHAIN);
    const c = ctx();
    setInputShape(p, 'x', [2, 3, 10, 10], c);
    assert.deepEqual(buildNet(p).layer('fc')!.bottoms[0].shape, [2, 4, 4, 4]);
    assert.ok(c.notes.some((n) => /layer 'fc' now expects blobs 5x64, 5 \(was 5x36, 5\)/.test(n)));
    const legacy = net('input: "data" input_dim: 1 input_dim: 3 input_dim: 4 input_dim: 4 layer { name: "r" type: "ReLU" bottom: "data" top: "r" }');
    setInputShape(legacy, 'data', [5, 3, 4, 4], ctx());
    assert.equal(legacy.input_dim, undefined);
    assert.deepEqual(buildNet(legacy).inputs()[0].shape, [5, 3, 4, 4]);
    assert.throws(() => setInputShape(net(CHAIN), 'y', [1], ctx()), /no Input layer top or input of that name[^]*/);
  });

  it('changes num_output and makes afresh the blobs of that layer and of the next one whose input changed', () => {
    const p = net(CHAIN);
    const w: Message = { layer: [{ name: 'conv', blobs: [] }, { name: 'fc', blobs: [] }] };
    const changed = setNumOutput(p, 'conv', 6, ctx(w));
    assert.deepEqual(changed, ['conv', 'fc']);
    const [conv, fc] = layers(w).map((l) => l.blobs as Message[]);
    assert.deepEqual((conv[0].shape as Message).dim, [6, 3, 3, 3]);
    assert.deepEqual(Array.from(conv[1].data as Float32Array), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]); // bias_filler constant 0.5
    assert.deepEqual((fc[0].shape as Message).dim, [5, 54]);
    const scale = Math.sqrt(3 / 54); // xavier, fan_in 54
    assert.ok((fc[0].data as Float32Array).every((v) => Math.abs(v) <= scale));
    assert.deepEqual(Array.from(fc[1].data as Float32Array), [0, 0, 0, 0, 0]); // no bias_filler: constant 0
    assert.throws(() => setNumOutput(net(CHAIN), 'pool', 3, ctx()), /'pool' is a Pooling/);
  });

  it('works on the real CaffeNet deploy net: removing drop6 keeps fc7 reading fc6', () => {
    const { param } = loadNet(fixture('nets', 'caffenet_deploy_input_shape.prototxt'));
    removeLayer(param, 'drop6', ctx());
    assert.ok(!layers(param).some((l) => l.name === 'drop6'));
    assert.deepEqual(layers(param).find((l) => l.name === 'fc7')!.bottom, ['fc6']);
  });
});
