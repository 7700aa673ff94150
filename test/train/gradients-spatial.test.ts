// The spatial layers' backward (convolutions, pooling and SPP, unpooling, resizing, crop, LRN) against finite differences
// of their forward (test/train/gradcheck.ts), and MAX pooling's ties against Caffe's first-max rule by hand.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { checkGradients, type GradCheckOptions } from './gradcheck.js';
import { parseCaffeText } from '../../src/io/files.js';
import { im2colLimit } from '../../src/layers/conv-grad.js';
import type { Shape } from '../../src/layers/types.js';
import { buildNet } from '../../src/net/net.js';
import { nchwcBlockSize } from '../../src/runtime/nchwc.js';
import { TrainingEngine } from '../../src/train/engine.js';
import { buildTrainingGraph } from '../../src/train/graph.js';

async function expectAgree(layer: string, inputs: Record<string, Shape>, opts: GradCheckOptions = {}): Promise<void> {
  const { checked, failures } = await checkGradients(layer, inputs, opts);
  assert.ok(checked > 0, 'nothing was checked');
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${checked} gradients disagree`);
}

/** Distinct values (a shuffled ramp), so that no two in a pooling window tie or come within the step of each other. */
function distinct(n: number, seed = 5): Float32Array {
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 16807) % 2147483647;
    const j = s % (i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

/** The gradient of input `x` for one layer fed `x`, when the top's gradient is `dy` (an external backward). */
async function inputGrad(layer: string, shape: Shape, x: Float32Array, dy: Float32Array): Promise<Float32Array> {
  const text = `input: "x" input_shape { ${shape.map((d) => `dim: ${d}`).join(' ')} }\nlayer { name: "under_test" ${layer} }\n`;
  const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
  const engine = await TrainingEngine.create(net, { backward: 'external', inputGrads: ['x'] });
  try {
    const [top] = engine.graph.gradIn.keys();
    const { dataGrads } = await engine.step({ x, [`grad_in:${top}`]: dy });
    return dataGrads.get('x')!;
  } finally {
    await engine.release();
  }
}

const conv = (p: string) => `type: "Convolution" bottom: "x" top: "y" convolution_param { ${p} }`;
const deconv = (p: string) => `type: "Deconvolution" bottom: "x" top: "y" convolution_param { ${p} }`;

/** The op types and node names of the training graph of one layer on input `x` (every gradient asked for). */
function trainingNodes(layer: string, x: Shape): { ops: string[]; names: string[] } {
  const text = `input: "x" input_shape { ${x.map((d) => `dim: ${d}`).join(' ')} }\nlayer { name: "under_test" ${layer} }\n`;
  const graph = buildTrainingGraph(buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' }), { backward: 'external', inputGrads: ['x'] });
  return { ops: graph.g.nodes.map((n) => n.op), names: graph.g.nodes.map((n) => n.name) };
}

/**
 * Run `body`'s cases with the gradients by im2col and Col2Im where they fit (the default), then by the other
 * formulations (the weight gradient by taps or the swapped Conv, the data gradient by ConvTranspose, as on CUDA).
 */
function bothGradFormulations(title: string, body: () => void): void {
  for (const byColumns of [true, false]) {
    describe(`${title} (${byColumns ? 'im2col, Col2Im' : 'taps or the swapped Conv, ConvTranspose'})`, () => {
      if (!byColumns) {
        const limit = im2colLimit.floats;
        before(() => { im2colLimit.floats = 0; });
        after(() => { im2colLimit.floats = limit; });
      }
      it('builds the formulation it is named after', () => {
        const { ops, names } = trainingNodes(conv('num_output: 3 kernel_size: 3 stride: 2'), [2, 8, 7, 6]);
        assert.equal(ops.includes('Col2Im'), byColumns);
        assert.equal(ops.includes('ConvTranspose'), !byColumns);
        assert.equal(names.some((n) => n.endsWith('_dW0_columns')), byColumns);
      });
      body();
    });
  }
}

bothGradFormulations('gradients: Convolution', () => {
  it('3x3, pad 1', () => expectAgree(conv('num_output: 3 kernel_size: 3 pad: 1'), { x: [2, 2, 5, 5] }));
  it('stride 2 with rows the stride skips (output_padding), no bias', () => expectAgree(conv('num_output: 2 kernel_size: 3 stride: 2 bias_term: false'), { x: [2, 3, 6, 7] }));
  it('dilation 2, pad 2, rectangular kernel', () => expectAgree(conv('num_output: 2 kernel_h: 3 kernel_w: 2 pad: 2 dilation: 2'), { x: [1, 2, 6, 5] }));
  it('dilation 2, no pad (a valid window: the data gradient adds columns back, Col2Im with dilations)', () => expectAgree(conv('num_output: 2 kernel_size: 3 dilation: 2'), { x: [2, 3, 7, 8] }));
  it('groups 2, stride 2, pad 1', () => expectAgree(conv('num_output: 4 kernel_size: 3 stride: 2 pad: 1 group: 2'), { x: [2, 4, 5, 6] }));
  it('1-D', () => expectAgree(conv('num_output: 2 kernel_size: 3 stride: 2 pad: 1'), { x: [2, 3, 9] }));
  it('3-D, groups 3', () => expectAgree(conv('num_output: 3 kernel_size: 2 stride: 2 group: 3 pad: 1'), { x: [1, 3, 3, 4, 3] }));
  // Without im2col, from 8 channels per group on, the weight gradient takes one product per kernel tap instead of
  // the swapped Conv: by slices of x on small planes, by depthwise Convs from 512 output positions per image on.
  it('8 channels: stride 2, pad 1, dilation 2', () => expectAgree(conv('num_output: 3 kernel_size: 3 stride: 2 pad: 1 dilation: 2'), { x: [2, 8, 7, 6] }, { maxPerBlob: 60 }));
  it('16 channels in groups 2, rectangular stride', () => expectAgree(conv('num_output: 4 kernel_size: 2 stride_h: 2 stride_w: 1 group: 2'), { x: [2, 16, 5, 4] }, { maxPerBlob: 60 }));
  it('8 channels, 24x24 out (without im2col: taps by depthwise Conv), pad 1', () => expectAgree(conv('num_output: 3 kernel_size: 3 pad: 1'), { x: [1, 8, 24, 24] }, { maxPerBlob: 60 }));
  it('8 channels, 24x23 out (without im2col: taps by depthwise Conv), stride 2, pad 1, dilation 2', () => expectAgree(conv('num_output: 2 kernel_size: 3 stride: 2 pad: 1 dilation: 2'), { x: [1, 8, 50, 48] }, { maxPerBlob: 60 }));
  it('16 channels in groups 2, 24x23 out (without im2col: taps by depthwise Conv), rectangular stride', () => expectAgree(conv('num_output: 4 kernel_size: 2 stride_h: 2 stride_w: 1 group: 2'), { x: [1, 16, 48, 24] }, { maxPerBlob: 60 }));
  it('8 channels, 1x1 kernel, stride 1, 24x24 (x itself is the only tap)', () => expectAgree(conv('num_output: 3 kernel_size: 1'), { x: [1, 8, 24, 24] }, { maxPerBlob: 60 }));
  // 16 channels in and out: on a CPU with ONNX Runtime's NCHWc layout (block 8 or 16) the forward and the data
  // gradient run as blocked convolutions with the filter reordered in the graph.
  it('16 -> 16 channels, 3x3 pad 1 (blocked layout where the CPU has it)', () => expectAgree(conv('num_output: 16 kernel_size: 3 pad: 1'), { x: [2, 16, 5, 6] }, { maxPerBlob: 80 }));
  it('the 16-channel convolutions of a training graph are blocked where the CPU has NCHWc', async (t) => {
    const block = await nchwcBlockSize();
    // MLAS's rule on x86-64: 16 with AVX-512F, 8 with AVX2 (a wrong filter order would make the probe find none).
    const flags = existsSync('/proc/cpuinfo') ? (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(' ') : [];
    const expected = flags.includes('avx512f') ? 16 : flags.includes('avx2') ? 8 : undefined;
    if (expected) assert.equal(block, expected);
    if (!block) return t.skip('ONNX Runtime has no NCHWc kernels on this CPU');
    const text = `input: "x" input_shape { dim: 1 dim: 16 dim: 5 dim: 6 }\nlayer { name: "c" ${conv('num_output: 16 kernel_size: 3 pad: 1')} }\n`;
    const graph = buildTrainingGraph(buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' }), { backward: 'external', inputGrads: ['x'], nchwcBlock: block });
    // The forward and the data gradient (the flipped-kernel convolution).
    assert.equal(graph.g.nodes.filter((n) => n.op === 'Conv' && n.domain === 'com.microsoft.nchwc').length, 2);
  });
  it('16 -> 32 channels, 3x3 stride 2 with bias (blocked forward, Col2Im or ConvTranspose data gradient)', () => expectAgree(conv('num_output: 32 kernel_size: 3 stride: 2 pad: 1'), { x: [1, 16, 7, 6] }, { maxPerBlob: 80 }));
  it('8 channels, 1x1 kernel, stride 1 (x itself is the only tap)', () => expectAgree(conv('num_output: 3 kernel_size: 1'), { x: [2, 8, 3, 4] }, { maxPerBlob: 60 }));
  it('8 channels, 3-D, 1x1x1 kernel stride 2', () => expectAgree(conv('num_output: 2 kernel_size: 1 stride: 2'), { x: [2, 8, 3, 3, 2] }, { maxPerBlob: 60 }));
  it('two bottoms sharing the weights', () => expectAgree('type: "Convolution" bottom: "a" bottom: "b" top: "ya" top: "yb" convolution_param { num_output: 2 kernel_size: 2 }', { a: [1, 2, 3, 3], b: [2, 2, 4, 3] }));
});

bothGradFormulations('gradients: Deconvolution', () => {
  it('stride 2, pad 1', () => expectAgree(deconv('num_output: 3 kernel_size: 4 stride: 2 pad: 1'), { x: [2, 2, 3, 3] }));
  it('groups 2, dilation 2, no bias', () => expectAgree(deconv('num_output: 4 kernel_size: 3 dilation: 2 group: 2 bias_term: false'), { x: [1, 4, 3, 4] }));
  it('8 outputs (without im2col: the weight gradient by taps), stride 2', () => expectAgree(deconv('num_output: 8 kernel_size: 3 stride: 2 pad: 1'), { x: [2, 3, 3, 4] }, { maxPerBlob: 60 }));
  it('stride 3, rectangular', () => expectAgree(deconv('num_output: 2 kernel_h: 3 kernel_w: 2 stride: 3'), { x: [2, 2, 2, 3] }));
});

bothGradFormulations('gradients: ConvolutionDepthwise', () => {
  it('3x3, stride 2, pad 1', () => expectAgree('type: "ConvolutionDepthwise" bottom: "x" top: "y" convolution_param { num_output: 3 kernel_size: 3 stride: 2 pad: 1 }', { x: [2, 3, 5, 6] }));
});

const pool = (p: string) => `type: "Pooling" bottom: "x" top: "y" pooling_param { ${p} }`;

describe('gradients: Pooling MAX', () => {
  it('3x3 stride 2 (overlapping windows) with the round-up overhang', () => expectAgree(pool('pool: MAX kernel_size: 3 stride: 2'), { x: [2, 2, 6, 6] }, { values: { x: distinct(144) } }));
  it('2x2 stride 2 on an odd plane (windows apart)', () => expectAgree(pool('pool: MAX kernel_size: 2 stride: 2'), { x: [2, 2, 5, 7] }, { values: { x: distinct(140) } }));
  it('3x3 stride 2 pad 1', () => expectAgree(pool('pool: MAX kernel_size: 3 stride: 2 pad: 1'), { x: [1, 3, 5, 6] }, { values: { x: distinct(90) } }));
  it('rectangular, with the mask top', () => expectAgree('type: "Pooling" bottom: "x" top: "y" top: "mask" pooling_param { pool: MAX kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 }', { x: [2, 2, 4, 5] }, { values: { x: distinct(80) } }));
  it('global', () => expectAgree(pool('pool: MAX global_pooling: true'), { x: [2, 3, 3, 4] }, { values: { x: distinct(72) } }));
});

describe('gradients: Pooling AVE', () => {
  it('3x3 stride 2 pad 1 with the overhang out of the divisor', () => expectAgree(pool('pool: AVE kernel_size: 3 stride: 2 pad: 1'), { x: [1, 2, 6, 6] }));
  it('2x2 stride 2, FLOOR: the last row is in no window', () => expectAgree(pool('pool: AVE kernel_size: 2 stride: 2 round_mode: FLOOR'), { x: [2, 2, 5, 5] }));
  it('3x3 stride 1 pad 1', () => expectAgree(pool('pool: AVE kernel_size: 3 pad: 1'), { x: [1, 2, 4, 5] }));
  it('rectangular with ceil overhang, no pad', () => expectAgree(pool('pool: AVE kernel_h: 3 kernel_w: 2 stride: 2'), { x: [2, 1, 6, 5] }));
  it('global', () => expectAgree(pool('pool: AVE global_pooling: true'), { x: [2, 3, 3, 4] }));
});

/** Caffe's PoolingLayer MAX forward and backward (pooling_layer.cpp), written out: the first maximum wins (strict >). */
function caffeMaxPoolGrad(x: Float32Array, [n, c, h, w]: Shape, k: number, s: number, pad: number, [oh, ow]: number[], dy: Float32Array): Float32Array {
  const dx = new Float32Array(x.length);
  for (let plane = 0; plane < n * c; plane++) {
    for (let ph = 0; ph < oh; ph++) {
      for (let pw = 0; pw < ow; pw++) {
        const [hs, ws] = [Math.max(ph * s - pad, 0), Math.max(pw * s - pad, 0)];
        const [he, we] = [Math.min(ph * s - pad + k, h), Math.min(pw * s - pad + k, w)];
        let best = -Number.MAX_VALUE;
        let at = -1;
        for (let i = hs; i < he; i++) {
          for (let j = ws; j < we; j++) {
            if (x[plane * h * w + i * w + j] > best) [best, at] = [x[plane * h * w + i * w + j], i * w + j];
          }
        }
        dx[plane * h * w + at] += dy[plane * oh * ow + ph * ow + pw];
      }
    }
  }
  return dx;
}

describe('MAX pooling ties go to the first maximum, as in Caffe', () => {
  it('a 3x3 plane, 2x2 windows at stride 1, by hand', async () => {
    const x = Float32Array.from([1, 1, 0, 1, 1, 1, 0, 1, 1]);
    const dx = await inputGrad(pool('pool: MAX kernel_size: 2 stride: 1'), [1, 1, 3, 3], x, Float32Array.from([1, 10, 100, 1000]));
    // Windows at (0,0) (0,1) (1,0) (1,1): their first maxima are x[0][0], x[0][1], x[1][0], x[1][1].
    assert.deepEqual(Array.from(dx), [1, 10, 0, 100, 1000, 0, 0, 0, 0]);
  });
  it('a plane of equal values with padding, by hand: padding never wins', async () => {
    const x = new Float32Array(16).fill(-1);
    const dx = await inputGrad(pool('pool: MAX kernel_size: 2 stride: 2 pad: 1'), [1, 1, 4, 4], x, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    // Windows start at -1, 1, 3 on each axis and clip to rows/columns {0}, {1, 2}, {3}: the first of each.
    assert.deepEqual(Array.from(dx), [1, 2, 0, 3, 4, 5, 0, 6, 0, 0, 0, 0, 7, 8, 0, 9]);
  });
  for (const [k, s, pad] of [[3, 2, 1], [3, 1, 0], [2, 2, 0]]) {
    it(`values from {0, 1, 2}, kernel ${k} stride ${s} pad ${pad}, against Caffe's loop`, async () => {
      const shape = [2, 2, 7, 6];
      const x = Float32Array.from({ length: 168 }, (_, i) => (i * 7 + (i >> 3)) % 3);
      const out = [0, 1].map((a) => {
        let o = Math.ceil((shape[2 + a] + 2 * pad - k) / s) + 1;
        if (pad && (o - 1) * s >= shape[2 + a] + pad) o--;
        return o;
      });
      const dy = Float32Array.from({ length: 4 * out[0] * out[1] }, (_, i) => i + 1);
      const dx = await inputGrad(pool(`pool: MAX kernel_size: ${k} stride: ${s} pad: ${pad}`), shape, x, dy);
      assert.deepEqual(Array.from(dx), Array.from(caffeMaxPoolGrad(x, shape, k, s, pad, out, dy)));
    });
  }
});

describe('gradients: Pooling STOCHASTIC', () => {
  it('is refused for training, and says so', () => assert.rejects(checkGradients(pool('pool: STOCHASTIC kernel_size: 2 stride: 2'), { x: [1, 1, 4, 4] }), /STOCHASTIC pooling cannot be trained/));
});

describe('gradients: Upsample', () => {
  it('max-unpooling: dy gathered at the mask, none for the mask', () => {
    // The mask of a 2x2 stride-2 MAX pooling of a 4x6 plane: one index inside each window.
    const mask = new Float32Array(2 * 2 * 2 * 3);
    for (let p = 0; p < 4; p++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) mask[p * 6 + i * 3 + j] = (2 * i + ((p + j) % 2)) * 6 + 2 * j + ((p + i) % 2);
    return expectAgree('type: "Upsample" bottom: "x" bottom: "mask" top: "y" propagate_down: true propagate_down: false upsample_param { scale: 2 }',
      { x: [2, 2, 2, 3], mask: [2, 2, 2, 3] }, { values: { mask }, fixed: ['mask'] });
  });
  it('nearest neighbour, 3-D input', () => expectAgree('type: "Upsample" bottom: "x" top: "y" upsample_param { scale: 3 }', { x: [2, 3, 4] }));
  it("after the MAX Pooling whose mask it reads (the pooling's own indices): y and dx keep each window's maximum, by hand", async () => {
    const shape = [2, 2, 4, 6];
    const text = `input: "x" input_shape { ${shape.map((d) => `dim: ${d}`).join(' ')} }
layer { name: "pool" type: "Pooling" bottom: "x" top: "p" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "unpool" type: "Upsample" bottom: "p" bottom: "mask" top: "y" upsample_param { upsample_h: 4 upsample_w: 6 } }\n`;
    const file = parseCaffeText(text, { kinds: ['net'] });
    const net = buildNet(file.message, { phase: 'TRAIN', dialect: file.dialect });
    const y = net.blobVersions.find((b) => b.name === 'y')!;
    const engine = await TrainingEngine.create(net, { backward: 'external', inputGrads: ['x'], expose: [y] });
    const x = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i * 2.3) * 10);
    const dy = Float32Array.from({ length: 96 }, (_, i) => i + 1);
    try {
      const { exposed, dataGrads } = await engine.step({ x, 'grad_in:y': dy });
      const keep = new Float32Array(96);
      for (let plane = 0; plane < 4; plane++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
        const window = [0, 1, 6, 7].map((o) => plane * 24 + i * 12 + j * 2 + o);
        keep[window.reduce((a, b) => (x[b] > x[a] ? b : a))] = 1;
      }
      assert.deepEqual(Array.from(exposed.get(y)!), Array.from(x, (v, i) => (keep[i] ? v : 0)));
      assert.deepEqual(Array.from(dataGrads.get('x')!), Array.from(dy, (v, i) => (keep[i] ? v : 0)));
      // The pooling's indices replace the mask: no Mod, no Cast to int64 and back.
      assert.ok(!engine.graph.g.nodes.some((n) => n.op === 'Mod' || n.op === 'Cast'), engine.graph.g.nodes.map((n) => n.op).join(' '));
    } finally {
      await engine.release();
    }
  });
});

describe('gradients: SPP', () => {
  it('MAX, three levels (padding at the last)', () => expectAgree('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 3 pool: MAX }', { x: [2, 2, 7, 8] }, { values: { x: distinct(224) } }));
  it('AVE, two levels', () => expectAgree('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 2 pool: AVE }', { x: [1, 2, 5, 6] }));
  it('MAX, one level', () => expectAgree('type: "SPP" bottom: "x" top: "y" spp_param { pyramid_height: 1 pool: MAX }', { x: [2, 2, 3, 4] }, { values: { x: distinct(48) } }));
});

const interp = (p: string) => `type: "Interp" bottom: "x" top: "y" interp_param { ${p} }`;

describe('gradients: Interp', () => {
  it('zoom 2', () => expectAgree(interp('zoom_factor: 2'), { x: [2, 2, 3, 4] }));
  it('shrink 2', () => expectAgree(interp('shrink_factor: 2'), { x: [1, 2, 7, 6] }));
  it('to a size, cropped by pad_beg and pad_end', () => expectAgree(interp('height: 5 width: 7 pad_beg: -1 pad_end: -1'), { x: [1, 2, 6, 5] }));
  it('to one row and a few columns', () => expectAgree(interp('height: 1 width: 3'), { x: [1, 1, 4, 5] }));
  it('the size of a second bottom, whose gradient is zero', () => expectAgree('type: "Interp" bottom: "x" bottom: "ref" top: "y"', { x: [1, 2, 3, 3], ref: [1, 1, 5, 4] }));
  it('same size: a copy', () => expectAgree(interp('height: 3 width: 4'), { x: [1, 2, 3, 4] }));
});

describe('gradients: Crop', () => {
  it('axis 2, one offset, the reference gets no gradient', () => expectAgree('type: "Crop" bottom: "x" bottom: "like" top: "y" propagate_down: true propagate_down: false crop_param { offset: 1 }',
    { x: [2, 2, 5, 6], like: [2, 1, 3, 3] }, { fixed: ['like'] }));
  it('axis 1, an offset per axis', () => expectAgree('type: "Crop" bottom: "x" bottom: "like" top: "y" propagate_down: true propagate_down: false crop_param { axis: 1 offset: 1 offset: 0 offset: 2 }',
    { x: [2, 4, 3, 5], like: [2, 2, 2, 2] }, { fixed: ['like'] }));
});

const lrn = (p: string) => `type: "LRN" bottom: "x" top: "y" lrn_param { ${p} }`;

describe('gradients: LRN', () => {
  it('ACROSS_CHANNELS, size 3, k 2', () => expectAgree(lrn('local_size: 3 alpha: 0.5 beta: 0.75 k: 2'), { x: [2, 5, 3, 2] }));
  it('ACROSS_CHANNELS, size 5 over 4 channels, defaults', () => expectAgree(lrn('local_size: 5'), { x: [2, 4, 2, 3] }));
  it('WITHIN_CHANNEL, size 3', () => expectAgree(lrn('local_size: 3 alpha: 2 beta: 0.6 norm_region: WITHIN_CHANNEL'), { x: [2, 2, 4, 5] }));
});
