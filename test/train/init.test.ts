// Starting values of a training run: attached weights first, else each layer's fillers with Caffe's defaults;
// the bilinear filler against its formula worked by hand; random fillers by their statistics and their seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCaffeText } from '../../src/io/files.js';
import { buildNet } from '../../src/net/net.js';
import { fill, Rng } from '../../src/surgery/fillers.js';
import { initialValues } from '../../src/train/init.js';
import { netParams } from '../../src/train/params.js';

function net(layers: string, dialect: 'bvlc' | 'segnet' = 'bvlc') {
  const text = `input: "data"\ninput_shape { dim: 2 dim: 3 dim: 4 dim: 4 }\n${layers}`;
  return buildNet(parseCaffeText(text, { kinds: ['net'], dialect }).message, { dialect, phase: 'TRAIN' });
}

const all = (v: Float32Array | undefined, x: number) => v !== undefined && v.length > 0 && v.every((e) => e === x);

describe('initialValues: fillers with Caffe defaults', () => {
  it('Convolution and InnerProduct without fillers start at zero (FillerParameter defaults to constant 0)', () => {
    const n = net(`layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }
layer { name: "ip" type: "InnerProduct" bottom: "c" top: "ip" inner_product_param { num_output: 3 bias_filler { type: "constant" value: 0.5 } } }`);
    const v = initialValues(n, netParams(n).owned, 1);
    assert.ok(all(v.get('c/0'), 0) && all(v.get('c/1'), 0) && all(v.get('ip/0'), 0));
    assert.ok(all(v.get('ip/1'), 0.5));
    assert.equal(v.get('c/0')!.length, 2 * 3 * 3 * 3);
  });

  it('Scale 1 and its bias 0, PReLU 0.25, BatchNorm statistics 0', () => {
    const n = net(`layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" }
layer { name: "sc" type: "Scale" bottom: "bn" top: "sc" scale_param { bias_term: true } }
layer { name: "pr" type: "PReLU" bottom: "sc" top: "pr" }`);
    const v = initialValues(n, netParams(n).owned, 1);
    assert.ok(all(v.get('bn/0'), 0) && all(v.get('bn/1'), 0) && all(v.get('bn/2'), 0));
    assert.ok(all(v.get('sc/0'), 1) && all(v.get('sc/1'), 0));
    assert.ok(all(v.get('pr/0'), 0.25));
  });

  it('SegNet BN reads scale_filler and shift_filler', () => {
    const n = net(`layer { name: "bn" type: "BN" bottom: "data" top: "bn" bn_param { scale_filler { type: "constant" value: 1 } shift_filler { type: "constant" value: 0.001 } } }`, 'segnet');
    const v = initialValues(n, netParams(n).owned, 1);
    assert.ok(all(v.get('bn/0'), 1) && all(v.get('bn/1'), Math.fround(0.001)));
  });

  it('attached weights win over fillers, and the seed makes random fillers repeatable', () => {
    const text = `layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }`;
    const n = net(text);
    const owned = netParams(n).owned;
    const a = initialValues(n, owned, 5).get('ip/0')!;
    const b = initialValues(n, owned, 5).get('ip/0')!;
    const c = initialValues(n, owned, 6).get('ip/0')!;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // xavier: uniform in +-sqrt(3 / fan_in), fan_in = 48.
    const bound = Math.sqrt(3 / 48);
    assert.ok(a.every((x) => Math.abs(x) <= bound) && a.some((x) => Math.abs(x) > bound / 2));
    n.layers[0].weights = [{ shape: { dim: [3, 48] }, data: new Float32Array(144).fill(7) }, { shape: { dim: [3] }, data: Float32Array.from([1, 2, 3]) }];
    const w = initialValues(n, owned, 5);
    assert.ok(all(w.get('ip/0'), 7));
    assert.deepEqual(Array.from(w.get('ip/1')!), [1, 2, 3]);
  });
});

describe('fillers', () => {
  it('bilinear K=4: the profile [0.25, 0.75, 0.75, 0.25] in both directions, for every (out, in) pair', () => {
    // f = ceil(4/2) = 2, c = 3/4: 1 - |x/2 - 0.75| for x = 0..3.
    const p = [0.25, 0.75, 0.75, 0.25];
    const v = fill([2, 1, 4, 4], { type: 'bilinear' }, new Rng(1));
    for (let k = 0; k < 2; k++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.equal(v[k * 16 + y * 4 + x], p[y] * p[x]);
  });

  it('bilinear K=3 uses BVLC master centre (K-1)/2f: the profile [0.5, 1, 0.5]', () => {
    const v = fill([1, 1, 3, 3], { type: 'bilinear' }, new Rng(1));
    assert.deepEqual(Array.from(v), [0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25]);
    assert.throws(() => fill([1, 1, 3, 4], { type: 'bilinear' }, new Rng(1)), /square/);
    assert.throws(() => fill([3, 3], { type: 'bilinear' }, new Rng(1)), /4 axes/);
  });

  it('gaussian sparse keeps about sparse / num_outputs of the values', () => {
    const v = fill([10, 2000], { type: 'gaussian', std: 1, sparse: 2 }, new Rng(3));
    const kept = v.filter((x) => x !== 0).length / v.length;
    // Bernoulli(0.2) over 20000 values: sd 0.0028; 5 sd.
    assert.ok(Math.abs(kept - 0.2) < 0.014, `kept ${kept}`);
  });

  it('msra: gaussian with std sqrt(2 / fan_in)', () => {
    const v = fill([50, 20, 3, 3], { type: 'msra' }, new Rng(4));
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    const want = Math.sqrt(2 / 180);
    assert.ok(Math.abs(sd - want) / want < 0.03, `sd ${sd} want ${want}`);
  });
});
