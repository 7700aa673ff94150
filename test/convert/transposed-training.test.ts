// from-matlab --transposed-training and --bgr: the converted net on image X must give what the original gave on
// X with height and width swapped (and its channels reversed), run through ONNX Runtime; and the reorderings
// worked by hand on tiny arrays.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyOrientation, type OrientationOptions, planOrientation, reverseAxis, swapDefinition, transposeLastTwo } from '../../src/convert/transposed-training.js';
import { CaffeToolError } from '../../src/errors.js';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { parseCaffeText, readCaffeFile, writeCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { buildNet, type Net } from '../../src/net/net.js';
import { attachWeights, fillRandomWeights } from '../../src/net/weights.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { relError, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const parse = (text: string) => parseCaffeText(text, { kinds: ['net'] }).message;

async function forward(n: Net, input: Float32Array): Promise<Float32Array> {
  const out = n.outputs()[0].name;
  const { model } = exportOnnx(n, { outputs: [out] });
  const session = await createSession(model);
  const x = n.inputs()[0] ?? n.layers[0].tops[0];
  const r = await runSession(session, { [x.name]: { data: input, dims: x.shape! } });
  return r[out].data;
}

function randomInput(count: number, seed = 11): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}

/** The image as the converted net takes it: x[n, c, h, w] -> y[n, c', w, h], c' = C-1-c with bgr. Plain loops. */
function reorient(x: Float32Array, [n, c, h, w]: number[], o: OrientationOptions): Float32Array {
  const y = new Float32Array(x.length);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < c; b++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const cc = o.bgr ? c - 1 - b : b;
          const at = o.transposed ? ((a * c + cc) * w + j) * h + i : ((a * c + cc) * h + i) * w + j;
          y[at] = x[((a * c + b) * h + i) * w + j];
        }
      }
    }
  }
  return y;
}

function weightsOf(n: Net): Message {
  return { name: n.name, layer: n.layers.filter((l) => l.weights).map((l) => ({ name: l.name, type: l.type, blobs: l.weights })) };
}


/** The original net on X against the converted one on X reoriented: returns both outputs and the converted pieces. */
async function roundTrip(text: string, o: OrientationOptions, drop?: string) {
  const param = parse(text);
  const before = buildNet(param);
  fillRandomWeights(before, 5);
  const plan = planOrientation(before, o);
  if (drop) plan.ops.delete(drop);
  const weights = applyOrientation(weightsOf(before), plan);
  const def = o.transposed ? swapDefinition(param) : { message: param, changes: [] };
  const after = buildNet(def.message);
  const report = attachWeights(after, weights);
  assert.deepEqual(report.missing, []);
  const x = before.layers[0].tops[0];
  const input = randomInput(x.shape!.reduce((p, q) => p * q, 1));
  const y0 = await forward(before, input);
  const y1 = await forward(after, reorient(input, x.shape!, o));
  return { y0, y1, plan, def, after, before };
}

// The net of the issue: Input 1x3x5x7, a 3x2 convolution with stride 1x2 and pad 1x0, ReLU, 2x2 pooling, InnerProduct 4.
const SMALL = `
  name: "small"
  layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 5 dim: 7 } } }
  layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
          convolution_param { num_output: 4 kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0 } }
  layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
  layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
  layer { name: "ip" type: "InnerProduct" bottom: "pool1" top: "ip" inner_product_param { num_output: 4 } }
`;

// Repeated (h, w) fields, dilation, BatchNorm + Scale, a depthwise and a transposed convolution, AVE pooling with
// padding, a channel Concat and an InnerProduct with transpose: true; a batch of 2.
const WIDE = `
  name: "wide"
  layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 7 dim: 9 } } }
  layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
          convolution_param { num_output: 4 kernel_size: 3 kernel_size: 2 stride: 1 stride: 2 pad: 1 pad: 0 dilation: 2 dilation: 1 } }
  layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" }
  layer { name: "sc1" type: "Scale" bottom: "conv1" top: "conv1" scale_param { bias_term: true } }
  layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
  layer { name: "dw" type: "ConvolutionDepthwise" bottom: "conv1" top: "dw" convolution_param { num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 } }
  layer { name: "cat" type: "Concat" bottom: "conv1" bottom: "dw" top: "cat" }
  layer { name: "up" type: "Deconvolution" bottom: "cat" top: "up" convolution_param { num_output: 2 kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 } }
  layer { name: "pool" type: "Pooling" bottom: "up" top: "pool" pooling_param { pool: AVE kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 2 pad_h: 1 } }
  layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip" inner_product_param { num_output: 5 transpose: true } }
`;

describe('transposed training: the reorderings by hand', () => {
  it('transposes each 3x2 filter to 2x3', () => {
    // Two filters [[1, 2], [3, 4], [5, 6]] and [[7, 8], [9, 10], [11, 12]] (kh=3, kw=2).
    const w = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual([...transposeLastTwo(w, 2, 3, 2)], [1, 3, 5, 2, 4, 6, 7, 9, 11, 8, 10, 12]);
    const plan = { options: { transposed: true, bgr: false }, ops: new Map([['c', [{ kind: 'transpose-filters' as const }]]]), notes: [] };
    const out = applyOrientation({ layer: [{ name: 'c', type: 'Convolution', blobs: [{ shape: { dim: [2, 1, 3, 2] }, data: w }, { shape: { dim: [2] }, data: Float32Array.from([0.5, 0.25]) }] }] }, plan);
    const blobs = (out.layer as Message[])[0].blobs as Message[];
    assert.deepEqual((blobs[0].shape as Message).dim, [2, 1, 2, 3]);
    assert.deepEqual([...(blobs[0].data as Float32Array)], [1, 3, 5, 2, 4, 6, 7, 9, 11, 8, 10, 12]);
    assert.deepEqual([...(blobs[1].data as Float32Array)], [0.5, 0.25]); // the bias stays
  });

  it('reorders InnerProduct columns from C x H x W to C x W x H (C=1, H=2, W=3: columns 0 3 1 4 2 5)', () => {
    const plan = (transposed: boolean) => ({
      options: { transposed: true, bgr: false },
      ops: new Map([['ip', [{ kind: 'reorder-columns' as const, chw: [1, 2, 3] as [number, number, number], transposed }]]]),
      notes: [],
    });
    // One output row with column values 10..15: the new row takes old columns 0 3 1 4 2 5.
    const row = { layer: [{ name: 'ip', blobs: [{ shape: { dim: [1, 6] }, data: Float32Array.from([10, 11, 12, 13, 14, 15]) }] }] };
    const r = ((applyOrientation(row, plan(false)).layer as Message[])[0].blobs as Message[])[0];
    assert.deepEqual([...(r.data as Float32Array)], [10, 13, 11, 14, 12, 15]);
    // transpose: true keeps [K, N] = 6 x 2: whole rows move the same way.
    const t = { layer: [{ name: 'ip', blobs: [{ shape: { dim: [6, 2] }, data: Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51]) }] }] };
    const r2 = ((applyOrientation(t, plan(true)).layer as Message[])[0].blobs as Message[])[0];
    assert.deepEqual([...(r2.data as Float32Array)], [0, 1, 30, 31, 10, 11, 40, 41, 20, 21, 50, 51]);
  });

  it('reverses the channel axis for --bgr', () => {
    // [1, 3, 1, 2]: channels (R: 1 2) (G: 3 4) (B: 5 6) -> B G R.
    assert.deepEqual([...reverseAxis(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 3, 1, 2], 1)], [5, 6, 3, 4, 1, 2]);
    // [2, 2]: axis 0 swaps the rows.
    assert.deepEqual([...reverseAxis(Float32Array.from([1, 2, 3, 4]), [2, 2], 0)], [3, 4, 1, 2]);
  });

  it('swaps the definition: _h/_w fields (absent ones too), two-valued repeated fields, input shapes', () => {
    const d = swapDefinition(parse(WIDE));
    assert.deepEqual(d.changes, [
      'data: input shape 2x3x7x9 -> 2x3x9x7',
      'conv1: kernel_size 3,2 -> 2,3',
      'conv1: stride 1,2 -> 2,1',
      'conv1: pad 1,0 -> 0,1',
      'conv1: dilation 2,1 -> 1,2',
      'dw: kernel_h/kernel_w 3/1 -> 1/3',
      'dw: pad_h/pad_w 1/0 -> 0/1',
      'up: kernel_h/kernel_w 2/3 -> 3/2',
      'up: stride_h/stride_w 2/1 -> 1/2',
      'pool: kernel_h/kernel_w 3/2 -> 2/3',
      'pool: pad_h/pad_w 1/- -> -/1',
    ]);
    const dw = (d.message.layer as Message[]).find((l) => l.name === 'dw')!.convolution_param as Message;
    assert.deepEqual([dw.kernel_h, dw.kernel_w, dw.pad_h, dw.pad_w], [1, 3, 0, 1]);
    const pool = (d.message.layer as Message[]).find((l) => l.name === 'pool')!.pooling_param as Message;
    assert.equal(pool.pad_h, undefined); // an absent field changes sides absent
    assert.equal(pool.pad_w, 1);
    const legacy = swapDefinition(parse('input: "x" input_dim: 1 input_dim: 3 input_dim: 4 input_dim: 6'));
    assert.deepEqual(legacy.message.input_dim, [1, 3, 6, 4]);
    assert.deepEqual(swapDefinition(parse('layer { name: "p" type: "Pooling" pooling_param { kernel_size: 3 stride: 2 } }')).changes, []);
  });
});

describe('transposed training: the converted net on X equals the original on X transposed (ONNX Runtime)', () => {
  for (const o of [{ transposed: true, bgr: false }, { transposed: true, bgr: true }, { transposed: false, bgr: true }]) {
    it(`the issue's net, ${o.transposed ? '--transposed-training' : ''} ${o.bgr ? '--bgr' : ''}`, async () => {
      const { y0, y1, def, plan, after } = await roundTrip(SMALL, o);
      assert.equal(y0.length, 4);
      const err = relError(y0, y1);
      assert.ok(err <= 1e-5, `relative error ${err}`);
      if (o.transposed) {
        assert.deepEqual(def.changes, ['data: input shape 1x3x5x7 -> 1x3x7x5', 'conv1: kernel_h/kernel_w 3/2 -> 2/3', 'conv1: stride_h/stride_w 1/2 -> 2/1', 'conv1: pad_h/pad_w 1/0 -> 0/1']);
        // conv1 4x5x3 -> 4x3x5, pool1 4x3x2 -> 4x2x3: the InnerProduct sees C x W x H.
        assert.deepEqual(after.blobs().get('pool1')!.shape, [1, 4, 2, 3]);
        assert.deepEqual(plan.notes.slice(0, 2), ['conv1: each filter transposed, 4x3x3x2 -> 4x3x2x3', 'ip: weight columns reordered from C x H x W = 4x3x2 to C x W x H']);
      }
    });
  }

  it('the wide net (dilation, depthwise, deconvolution, AVE pooling, BatchNorm, Concat, transpose: true) with both flags', async () => {
    const { y0, y1 } = await roundTrip(WIDE, { transposed: true, bgr: true });
    assert.equal(y0.length, 10);
    const err = relError(y0, y1);
    assert.ok(err <= 1e-5, `relative error ${err}`);
  });

  it('the check can fail: without the InnerProduct reorder the outputs differ', async () => {
    const { y0, y1 } = await roundTrip(SMALL, { transposed: true, bgr: false }, 'ip');
    assert.ok(relError(y0, y1) > 1e-2, `relative error ${relError(y0, y1)}`);
  });

  it('refuses layers whose dependence on the orientation it cannot tell, naming them', () => {
    const flat = buildNet(parse(`
      layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 5 } } }
      layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" }`));
    const named = (layer: string, re: RegExp) => (e: unknown) => e instanceof CaffeToolError && e.where.layer === layer && re.test(e.message);
    assert.throws(() => planOrientation(flat, { transposed: true, bgr: false }), named('flat', /^Flatten reads 'data' \(1x3x4x5\), which has the image's height and width/));
    const scaled = buildNet(parse(`
      layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 5 } } }
      layer { name: "mean" type: "Scale" bottom: "data" top: "m" }
      layer { name: "conv" type: "Convolution" bottom: "m" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }`));
    assert.throws(() => planOrientation(scaled, { transposed: false, bgr: true }), named('mean', /--bgr .* read by a Scale layer first/));
    assert.doesNotThrow(() => planOrientation(scaled, { transposed: true, bgr: false }));
  });
});

describe('caffe-tool from-matlab --transposed-training --bgr', () => {
  it('needs --out-model when the definition changes, then writes a pair that ONNX Runtime finds equivalent', async () => {
    const dir = tempDir();
    const model = join(dir, 'small.prototxt');
    writeFileSync(model, SMALL);
    // A caffemodel "filled from MATLAB memory" in matcaffe's reversed order: the blobs' dims reversed.
    const before = buildNet(parse(SMALL));
    fillRandomWeights(before, 9);
    const reversed = { name: 'small', layer: before.layers.filter((l) => l.weights).map((l) => ({
      name: l.name, type: l.type, blobs: l.weights!.map((b) => ({ shape: { dim: [...((b.shape as Message).dim as number[])].reverse() }, data: b.data })),
    })) };
    const mlw = join(dir, 'ml.caffemodel');
    writeCaffeFile(mlw, { kind: 'net', message: reversed, dialect: 'bvlc' }, 'binary');
    const out = join(dir, 'out.caffemodel');
    const args = ['from-matlab', '--model', model, '--weights', mlw, '--out-weights', out, '--layout', 'reversed', '--transposed-training', '--bgr'];
    const bare = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(bare.status, 2, bare.stderr);
    assert.match(bare.stderr, /--transposed-training changes the net definition \(data: input shape 1x3x5x7 -> 1x3x7x5; conv1: .*\).*\n.*--out-model/);
    assert.equal(existsSync(out), false);
    const model2 = join(dir, 'small_t.prototxt');
    const r = spawnSync(process.execPath, [CLI, ...args, '--out-model', model2], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /small_t\.prototxt: the net definition with height and width swapped/);
    assert.match(r.stdout, /conv1: input channels of 'data' reversed/);
    assert.match(readFileSync(model2, 'utf8'), /kernel_h: 2\s+kernel_w: 3/);
    const after = buildNet(readCaffeFile(model2).message);
    attachWeights(after, readCaffeFile(out).message);
    const x = randomInput(105);
    const err = relError(await forward(before, x), await forward(after, reorient(x, [1, 3, 5, 7], { transposed: true, bgr: true })));
    assert.ok(err <= 1e-5, `relative error ${err}`);
    const only = spawnSync(process.execPath, [CLI, 'from-matlab', '--model', model, '--weights', mlw, '--out-weights', join(dir, 'o2.caffemodel'), '--layout', 'reversed', '--out-model', join(dir, 'm.prototxt')], { encoding: 'utf8' });
    assert.equal(only.status, 2);
    assert.match(only.stderr, /--out-model goes with --transposed-training/);
  });
});
