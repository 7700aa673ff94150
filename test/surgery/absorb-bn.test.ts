// absorb-bn: folds checked against values worked by hand, and random nets with non-trivial statistics whose
// outputs before and after folding agree when both run unfolded through ONNX Runtime.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { blobData, blobShape } from '../../src/io/blob.js';
import { parseCaffeText } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import type { Dialect } from '../../src/io/schema.js';
import { buildNet, type Net } from '../../src/net/net.js';
import { attachWeights } from '../../src/net/weights.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { absorbBatchNorm, describeEntry } from '../../src/surgery/absorb-bn.js';

function net(text: string, dialect: Dialect = 'bvlc'): { net: Net; param: Message } {
  const param = parseCaffeText(text, { kinds: ['net'], dialect }).message;
  return { net: buildNet(param, { dialect }), param };
}

const blob = (data: number[], shape = [data.length]): Message => ({ shape: { dim: shape }, data: Float32Array.from(data) });

function setWeights(n: Net, values: Record<string, Message[]>): void {
  for (const [name, blobs] of Object.entries(values)) n.layer(name)!.weights = blobs;
}

const layerOf = (param: Message, name: string) => (param.layer as Message[]).find((l) => l.name === name);
const names = (param: Message) => (param.layer as Message[]).map((l) => l.name);
const values = (param: Message, name: string, i: number) => [...blobData((layerOf(param, name)!.blobs as Message[])[i])];

function close(actual: number[], expected: number[], tol: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}] ${a} vs ${expected[i]}`));
}

const dims = (shape: number[]) => shape.map((d) => `dim: ${d}`).join(' ');
const INPUT = (shape: number[]) => `layer { name: "data" type: "Input" top: "data" input_param { shape { ${dims(shape)} } } }`;
/** PSPNet's schema predates the Input layer: the net-level input. */
const LEGACY_INPUT = (shape: number[]) => `input: "data" input_shape { ${dims(shape)} }`;

describe('absorb-bn: folds worked by hand', () => {
  it('Convolution without bias + BatchNorm (scale factor 2, eps 0.25) + Scale with bias, not in place', () => {
    const { net: n, param } = net(`${INPUT([1, 1, 2, 2])}
      layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }
      layer { name: "bn" type: "BatchNorm" bottom: "c" top: "b" batch_norm_param { eps: 0.25 } }
      layer { name: "sc" type: "Scale" bottom: "b" top: "s" scale_param { bias_term: true } }
      layer { name: "relu" type: "ReLU" bottom: "s" top: "s" }`);
    // mean = [2, 4] / 2 = [1, 2]; var = [7.5, 17.5] / 2 = [3.75, 8.75]; sqrt(var + 0.25) = [2, 3]
    // alpha = gamma / std = [4/2, 6/3] = [2, 2]; W' = [2*2, 2*3] = [4, 6]; b' = 2*(0 - [1, 2]) + [1, -1] = [-1, -5]
    setWeights(n, {
      conv: [blob([2, 3], [2, 1, 1, 1])],
      bn: [blob([2, 4]), blob([7.5, 17.5]), blob([2])],
      sc: [blob([4, 6]), blob([1, -1])],
    });
    const r = absorbBatchNorm(n, param);
    assert.deepEqual(names(r.definition), ['data', 'conv', 'relu']);
    const conv = layerOf(r.weights, 'conv')!;
    assert.deepEqual(conv.top, ['s'], 'the conv takes the name the later layers read');
    assert.equal((conv.convolution_param as Message).bias_term, true);
    assert.equal((conv.convolution_param as Message).num_output, 2, 'other params kept');
    assert.deepEqual(values(r.weights, 'conv', 0), [4, 6]);
    assert.deepEqual(blobShape((conv.blobs as Message[])[0]), [2, 1, 1, 1]);
    assert.deepEqual(values(r.weights, 'conv', 1), [-1, -5]);
    assert.deepEqual(blobShape((conv.blobs as Message[])[1]), [2]);
    assert.ok((r.definition.layer as Message[]).every((l) => l.blobs === undefined), 'the definition has no blobs');
    assert.deepEqual(r.entries.map(describeEntry), ['folded bn (BatchNorm) + sc (Scale) into conv (Convolution), which got a bias']);
    // The input messages are untouched.
    assert.deepEqual(names(param), ['data', 'conv', 'bn', 'sc', 'relu']);
    assert.deepEqual(layerOf(param, 'conv')!.top, ['c']);
  });

  it('scale factor 0 means zero statistics; the conv bias goes through alpha', () => {
    const { net: n, param } = net(`${INPUT([1, 1, 2, 2])}
      layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 1 kernel_size: 1 } }
      layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" batch_norm_param { eps: 3 } }`);
    // factor 0: the sums 7 and 5 count as mean = var = 0
    setWeights(n, { conv: [blob([8], [1, 1, 1, 1]), blob([2])], bn: [blob([7]), blob([5]), blob([0])] });
    const r = absorbBatchNorm(n, param);
    // alpha = 1/sqrt(0 + 3); W' = 8/sqrt(3); b' = 2/sqrt(3)
    close(values(r.weights, 'conv', 0), [8 / Math.sqrt(3)], 1e-7);
    close(values(r.weights, 'conv', 1), [2 / Math.sqrt(3)], 1e-7);
    assert.deepEqual(layerOf(r.definition, 'conv')!.top, ['c']);
  });

  it('Deconvolution with 2 groups: each output channel scales its own slice of [C_in, C_out/g, kh, kw]', () => {
    const { net: n, param } = net(`${INPUT([1, 2, 2, 2])}
      layer { name: "up" type: "Deconvolution" bottom: "data" top: "u" convolution_param { num_output: 4 kernel_size: 1 group: 2 bias_term: false } }
      layer { name: "bn" type: "BN" bottom: "u" top: "u" bn_param { bn_mode: INFERENCE } }`, 'segnet');
    // W [2, 2, 1, 1]: input 0 feeds outputs 0, 1; input 1 feeds outputs 2, 3. scale [1, 2, 3, 4], shift [5, 6, 7, 8].
    setWeights(n, { up: [blob([1, 1, 1, 1], [2, 2, 1, 1])], bn: [blob([1, 2, 3, 4], [1, 4, 1, 1]), blob([5, 6, 7, 8], [1, 4, 1, 1])] });
    const r = absorbBatchNorm(n, param);
    assert.deepEqual(values(r.weights, 'up', 0), [1, 2, 3, 4]);
    assert.deepEqual(values(r.weights, 'up', 1), [5, 6, 7, 8]);
    assert.deepEqual(names(r.definition), ['data', 'up']);
  });

  it('InnerProduct with transpose: [K, n] scaled per column', () => {
    const { net: n, param } = net(`${INPUT([1, 3])}
      layer { name: "fc" type: "InnerProduct" bottom: "data" top: "f" inner_product_param { num_output: 2 transpose: true } }
      layer { name: "bn" type: "BatchNorm" bottom: "f" top: "y" batch_norm_param { eps: 0 } }`);
    // mean [1, -1], var [4, 16] (factor 1): alpha [1/2, 1/4]; W [3, 2] = [[1, 2], [3, 4], [5, 6]]
    setWeights(n, { fc: [blob([1, 2, 3, 4, 5, 6], [3, 2]), blob([3, 5])], bn: [blob([1, -1]), blob([4, 16]), blob([1])] });
    const r = absorbBatchNorm(n, param);
    assert.deepEqual(values(r.weights, 'fc', 0), [0.5, 0.5, 1.5, 1, 2.5, 1.5]);
    // b' = alpha (b - mean) = [(3 - 1)/2, (5 + 1)/4]
    assert.deepEqual(values(r.weights, 'fc', 1), [1, 1.5]);
    assert.deepEqual(layerOf(r.definition, 'fc')!.top, ['y']);
  });

  it('NVCaffe 5 blobs: statistics used as stored (blob 2 ignored), eps raised to 1e-5, gamma and beta from blobs 3 and 4', () => {
    const { net: n, param } = net(`${INPUT([1, 1, 1, 1])}
      layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 1 kernel_size: 1 } }
      layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" batch_norm_param { scale_bias: true eps: 1e-6 } }`, 'nvcaffe');
    setWeights(n, { conv: [blob([1], [1, 1, 1, 1]), blob([0])], bn: [blob([0.5]), blob([1]), blob([7]), blob([2]), blob([0.5])] });
    const r = absorbBatchNorm(n, param);
    const alpha = 2 / Math.sqrt(1 + 1e-5);
    close(values(r.weights, 'conv', 0), [alpha], 1e-7);
    close(values(r.weights, 'conv', 1), [0.5 - alpha * 0.5], 1e-7);
  });

  it('PSPNet BN: [slope, bias, mean, var] with bn_param.eps', () => {
    const { net: n, param } = net(`${LEGACY_INPUT([1, 1, 2, 2])}
      layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 1 kernel_size: 1 bias_term: false } }
      layer { name: "bn" type: "BN" bottom: "c" top: "c" bn_param { eps: 0.5 } }`, 'pspnet');
    const b4 = (v: number) => blob([v], [1, 1, 1, 1]);
    // alpha = 3 / sqrt(3.5 + 0.5) = 1.5; b' = 1.5 * (0 - 2) + 1 = -2
    setWeights(n, { conv: [blob([2], [1, 1, 1, 1])], bn: [b4(3), b4(1), b4(2), b4(3.5)] });
    const r = absorbBatchNorm(n, param);
    assert.deepEqual(values(r.weights, 'conv', 0), [3]);
    assert.deepEqual(values(r.weights, 'conv', 1), [-2]);
  });

  it('turns a BN after a ReLU into one Scale layer, and leaves batch-statistics BNs as they are, saying why', () => {
    const { net: n, param } = net(`${INPUT([1, 2, 2, 2])}
      layer { name: "relu" type: "ReLU" bottom: "data" top: "r" }
      layer { name: "bn" type: "BatchNorm" bottom: "r" top: "b" batch_norm_param { eps: 0 } }
      layer { name: "sc" type: "Scale" bottom: "b" top: "b" scale_param { bias_term: false } }
      layer { name: "conv" type: "Convolution" bottom: "b" top: "c" convolution_param { num_output: 2 kernel_size: 1 } }
      layer { name: "bn2" type: "BatchNorm" bottom: "c" top: "c" batch_norm_param { use_global_stats: false } }`);
    setWeights(n, {
      bn: [blob([2, 4]), blob([8, 32]), blob([2])], // mean [1, 2], var [4, 16]
      sc: [blob([6, 8])],
      conv: [blob([1, 0, 0, 1], [2, 2, 1, 1]), blob([0, 0])],
      bn2: [blob([0, 0]), blob([1, 1]), blob([1])],
    });
    const r = absorbBatchNorm(n, param);
    assert.deepEqual(names(r.definition), ['data', 'relu', 'bn', 'conv', 'bn2']);
    const s = layerOf(r.weights, 'bn')!;
    assert.equal(s.type, 'Scale');
    assert.deepEqual([s.bottom, s.top], [['r'], ['b']]);
    // a = 6/2, 8/4 = [3, 2]; c = -a * mean = [-3, -4]
    assert.deepEqual(values(r.weights, 'bn', 0), [3, 2]);
    assert.deepEqual(values(r.weights, 'bn', 1), [-3, -4]);
    assert.equal(layerOf(r.weights, 'bn2')!.type, 'BatchNorm');
    const lines = r.entries.map(describeEntry);
    assert.match(lines[0], /^turned bn \(BatchNorm\) \+ sc \(Scale\) into one Scale layer: its input 'r' comes from ReLU layer 'relu'/);
    assert.match(lines[1], /^left bn2 \(BatchNorm\) as it is: use_global_stats: false/);
    const kept = absorbBatchNorm(n, param, { keepUnfoldable: true });
    assert.deepEqual(names(kept.definition), ['data', 'relu', 'bn', 'sc', 'conv', 'bn2']);
    assert.match(describeEntry(kept.entries[0]), /^left bn \(BatchNorm\) as it is: its input 'r' comes from ReLU/);
  });

  it('does not fold when the pre-BN tensor also feeds another layer, nor a SegNet BN in LEARN mode', () => {
    // ENet's Caffe (BVLC-based) has Scale: the unfoldable BN becomes one. SegNet's has no Scale layer (its
    // LayerParameter stops at field 138, before scale_param 142): the INFERENCE BN stays, blobs and all.
    const text = `${LEGACY_INPUT([1, 1, 2, 2])}
      layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 1 kernel_size: 1 } }
      layer { name: "bn" type: "BN" bottom: "c" top: "b" bn_param { bn_mode: INFERENCE } }
      layer { name: "sum" type: "Eltwise" bottom: "c" bottom: "b" top: "s" }
      layer { name: "bn2" type: "BN" bottom: "s" top: "s" }`;
    const b4 = (v: number) => blob([v], [1, 1, 1, 1]);
    for (const dialect of ['enet', 'segnet'] as const) {
      const { net: n, param } = net(text, dialect);
      setWeights(n, { conv: [blob([1], [1, 1, 1, 1]), blob([0])], bn: [b4(2), b4(1)], bn2: [b4(1), b4(0)] });
      const r = absorbBatchNorm(n, param);
      assert.match(describeEntry(r.entries[1]), /^left bn2 \(BN\) as it is: bn_mode LEARN/);
      assert.deepEqual(values(r.weights, 'conv', 0), [1], 'the conv is untouched');
      const bn = layerOf(r.weights, 'bn')!;
      if (dialect === 'enet') {
        assert.match(describeEntry(r.entries[0]), /^turned bn \(BN\) into one Scale layer: its input 'c' is also read by 'sum'$/);
        assert.equal(bn.type, 'Scale');
        continue;
      }
      assert.equal(describeEntry(r.entries[0]),
        'left bn (BN) as it is: its input \'c\' is also read by \'sum\'; the segnet fork\'s Caffe has no Scale layer to take its place (its INFERENCE BN already is a per-channel scale and shift)');
      assert.deepEqual(layerOf(r.definition, 'bn'), layerOf(param, 'bn'), 'the BN definition is kept as written');
      assert.deepEqual([bn.type, values(r.weights, 'bn', 0), values(r.weights, 'bn', 1)], ['BN', [2], [1]]);
      assert.ok((r.definition.layer as Message[]).every((l) => l.type !== 'Scale' && l.scale_param === undefined));
    }
  });
});

// ---- random nets, before and after, both unfolded through ONNX Runtime ----

function randomWeights(n: Net, seed: number, zeroFactor = new Set<string>()): void {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (const l of n.layers) {
    if (!l.learned?.length) continue;
    const factor = zeroFactor.has(l.name) ? 0 : 3.7;
    l.weights = l.learned.map((spec) => {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: count }, () => {
        const u = next() * 2 - 1;
        // BVLC statistics are sums: mean and variance blobs hold factor * the statistics.
        const stat = l.type === 'BatchNorm' && n.dialect !== 'nvcaffe' ? factor : 1;
        switch (spec.role) {
          case 'mean': return stat * 1.5 * u;
          case 'variance': return stat * (0.2 + 2 * u * u);
          case 'scale_factor': return factor;
          case 'scale': return 0.5 + u;
          case 'weight': return u;
          default: return u;
        }
      });
      return { shape: { dim: spec.shape }, data };
    });
  }
}

async function runBoth(before: Net, after: Net): Promise<number> {
  const a = exportOnnx(before, { fold: false });
  const b = exportOnnx(after, { fold: false });
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const i of a.inputs) {
    const dims = i.shape!.map(Number);
    feeds[i.name] = { data: Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, (_, k) => Math.sin(k * 1.3 + 0.2)), dims };
  }
  const ra = await runSession(await createSession(a.model), feeds);
  const rb = await runSession(await createSession(b.model), feeds);
  assert.deepEqual(Object.keys(rb).sort(), Object.keys(ra).sort(), 'the same outputs under the same names');
  let worst = 0;
  for (const [name, x] of Object.entries(ra)) {
    const y = rb[name].data;
    let peak = 0;
    for (const v of x.data) peak = Math.max(peak, Math.abs(v));
    assert.ok(peak > 1e-3, `output ${name} is not trivially zero`);
    for (let k = 0; k < x.data.length; k++) worst = Math.max(worst, Math.abs(x.data[k] - y[k]) / (1e-5 * peak + 1e-5 * Math.abs(x.data[k])));
  }
  return worst;
}

async function roundTrip(text: string, dialect: Dialect, expect: { folded: number; other?: number; layers?: string[] }, zeroFactor?: Set<string>) {
  const { net: n, param } = net(text, dialect);
  randomWeights(n, 17, zeroFactor);
  const r = absorbBatchNorm(n, param);
  const after = buildNet(r.definition, { dialect });
  attachWeights(after, r.weights);
  assert.equal(r.entries.filter((e) => e.action === 'folded').length, expect.folded, r.entries.map(describeEntry).join('\n'));
  assert.equal(r.entries.filter((e) => e.action !== 'folded').length, expect.other ?? 0, r.entries.map(describeEntry).join('\n'));
  if (expect.layers) assert.deepEqual(names(r.definition), expect.layers);
  const worst = await runBoth(n, after);
  assert.ok(worst <= 1, `outputs differ by ${worst} x 1e-5 relative`);
}

describe('absorb-bn: random nets give the same outputs before and after', () => {
  it('conv without bias + in-place BN (eps 1e-3) + in-place Scale, ReLU; conv + not-in-place BN without Scale', () =>
    roundTrip(`${INPUT([2, 3, 7, 6])}
      layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 5 kernel_size: 3 pad: 1 bias_term: false } }
      layer { name: "bn1" type: "BatchNorm" bottom: "c1" top: "c1" batch_norm_param { eps: 1e-3 } }
      layer { name: "sc1" type: "Scale" bottom: "c1" top: "c1" scale_param { bias_term: true } }
      layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }
      layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2" convolution_param { num_output: 4 kernel_size: 2 stride: 2 group: 1 } }
      layer { name: "bn2" type: "BatchNorm" bottom: "c2" top: "bn2" batch_norm_param { eps: 0.01 } }
      layer { name: "r2" type: "ReLU" bottom: "bn2" top: "out" }`, 'bvlc', { folded: 2, layers: ['data', 'c1', 'r1', 'c2', 'r2'] }));

  it('grouped Deconvolution + BN + not-in-place Scale without bias; scale factor 0 on one BN', () =>
    roundTrip(`${INPUT([1, 4, 5, 5])}
      layer { name: "up" type: "Deconvolution" bottom: "data" top: "u" convolution_param { num_output: 6 kernel_size: 3 stride: 2 group: 2 } }
      layer { name: "bn" type: "BatchNorm" bottom: "u" top: "u" batch_norm_param { eps: 2e-5 } }
      layer { name: "sc" type: "Scale" bottom: "u" top: "s" }
      layer { name: "c" type: "Convolution" bottom: "s" top: "c" convolution_param { num_output: 3 kernel_size: 1 bias_term: false } }
      layer { name: "bnz" type: "BatchNorm" bottom: "c" top: "z" batch_norm_param { eps: 0.5 } }`, 'bvlc', { folded: 2 }, new Set(['bnz'])));

  it('InnerProduct (plain and transposed) + BN, and BN after BN+Scale folds into the same conv', () =>
    roundTrip(`${INPUT([3, 2, 3, 3])}
      layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 1 } }
      layer { name: "bna" type: "BatchNorm" bottom: "c" top: "a" }
      layer { name: "sca" type: "Scale" bottom: "a" top: "a" scale_param { bias_term: true } }
      layer { name: "bnb" type: "BatchNorm" bottom: "a" top: "b" batch_norm_param { eps: 1e-4 } }
      layer { name: "fc1" type: "InnerProduct" bottom: "b" top: "f1" inner_product_param { num_output: 5 } }
      layer { name: "bn1" type: "BatchNorm" bottom: "f1" top: "f1" }
      layer { name: "sc1" type: "Scale" bottom: "f1" top: "g1" scale_param { bias_term: true } }
      layer { name: "fc2" type: "InnerProduct" bottom: "g1" top: "f2" inner_product_param { num_output: 4 transpose: true bias_term: false } }
      layer { name: "bn2" type: "BatchNorm" bottom: "f2" top: "y" batch_norm_param { eps: 0.1 } }`, 'bvlc',
    { folded: 4, layers: ['data', 'c', 'fc1', 'fc2'] }));

  it('ConvolutionDepthwise + BatchNorm + Scale', () =>
    roundTrip(`${INPUT([1, 3, 6, 6])}
      layer { name: "dw" type: "ConvolutionDepthwise" bottom: "data" top: "dw" convolution_param { num_output: 3 kernel_size: 3 pad: 1 bias_term: false } }
      layer { name: "bn" type: "BatchNorm" bottom: "dw" top: "dw" batch_norm_param { eps: 1e-3 } }
      layer { name: "sc" type: "Scale" bottom: "dw" top: "dw" scale_param { bias_term: true } }`, 'bvlc', { folded: 1, layers: ['data', 'dw'] }));

  it('a BN whose input also feeds a branch, a BN after a Concat: turned into Scale layers, outputs unchanged', () =>
    roundTrip(`${INPUT([2, 2, 4, 4])}
      layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 pad: 1 } }
      layer { name: "bn" type: "BatchNorm" bottom: "c" top: "b" }
      layer { name: "sc" type: "Scale" bottom: "b" top: "b" scale_param { bias_term: true } }
      layer { name: "sum" type: "Eltwise" bottom: "c" bottom: "b" top: "s" }
      layer { name: "cat" type: "Concat" bottom: "s" bottom: "data" top: "k" }
      layer { name: "bnk" type: "BatchNorm" bottom: "k" top: "k" batch_norm_param { eps: 1e-2 } }`, 'bvlc',
    { folded: 0, other: 2, layers: ['data', 'c', 'bn', 'sum', 'cat', 'bnk'] }));

  it('NVCaffe 5-blob BatchNorm (eps below the 1e-5 clamp) and 3-blob BatchNorm', () =>
    roundTrip(`${INPUT([1, 3, 5, 5])}
      layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 4 kernel_size: 3 } }
      layer { name: "bn1" type: "BatchNorm" bottom: "c1" top: "c1" batch_norm_param { scale_bias: true eps: 1e-7 } }
      layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2" convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }
      layer { name: "bn2" type: "BatchNorm" bottom: "c2" top: "y" batch_norm_param { eps: 1e-3 } }`, 'nvcaffe', { folded: 2 }));

  it('SegNet BN in INFERENCE mode after conv and deconv; PSPNet BN', async () => {
    await roundTrip(`${INPUT([1, 2, 4, 4])}
      layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }
      layer { name: "bn" type: "BN" bottom: "c" top: "b" bn_param { bn_mode: INFERENCE } }
      layer { name: "r" type: "ReLU" bottom: "b" top: "b" }
      layer { name: "u" type: "Deconvolution" bottom: "b" top: "u" convolution_param { num_output: 2 kernel_size: 2 stride: 2 bias_term: false } }
      layer { name: "bnu" type: "BN" bottom: "u" top: "u" bn_param { bn_mode: INFERENCE } }`, 'segnet', { folded: 2 });
    await roundTrip(`${LEGACY_INPUT([1, 2, 4, 4])}
      layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 } }
      layer { name: "bn" type: "BN" bottom: "c" top: "c" bn_param { eps: 1e-3 } }`, 'pspnet', { folded: 1 });
  });
});
