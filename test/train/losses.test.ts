// Loss layers and Accuracy: forward values and bottom gradients against Caffe's loops written in numpy
// (fixtures/make_train_refs.py -> fixtures/train/losses.json), and the backward against finite differences.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCaffeText, writeCaffeFile } from '../../src/io/files.js';
import type { Dialect } from '../../src/io/schema.js';
import { buildNet } from '../../src/net/net.js';
import { CaffeToolError } from '../../src/errors.js';
import { TrainingEngine } from '../../src/train/engine.js';
import { fixture, tempDir } from '../helpers.js';
import { checkGradients } from './gradcheck.js';

interface Case {
  name: string;
  dialect: Dialect;
  layer: string;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, number[]>;
  grads: Record<string, number[]>;
}

const cases = JSON.parse(readFileSync(fixture('train', 'losses.json'), 'utf8')) as Case[];

/** One layer fed by net inputs; the loss top's gradient is 1 (loss_weight 1), any other top's 0. */
async function run(c: Case): Promise<{ outputs: Map<string, Float32Array>; grads: Map<string, Float32Array> }> {
  const text = Object.entries(c.inputs).map(([name, v]) => `input: "${name}"\ninput_shape { ${v.shape.map((d) => `dim: ${d}`).join(' ')} }\n`).join('')
    + `layer { name: "under_test" ${c.layer} }\n`;
  const net = buildNet(parseCaffeText(text, { kinds: ['net'], dialect: c.dialect }).message, { dialect: c.dialect, phase: 'TRAIN' });
  const withGrads = Object.keys(c.grads);
  const engine = await TrainingEngine.create(net, withGrads.length ? { backward: 'external', inputGrads: withGrads } : { backward: 'none' });
  try {
    const batch: Record<string, Float32Array> = {};
    for (const [name, v] of Object.entries(c.inputs)) batch[name] = Float32Array.from(v.data);
    for (const [blob, t] of engine.graph.gradIn) batch[`grad_in:${blob}`] = new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(blob === 'loss' ? 1 : 0);
    const r = await engine.step(batch);
    return { outputs: r.outputs, grads: r.dataGrads };
  } finally {
    await engine.release();
  }
}

function close(what: string, actual: ArrayLike<number> | undefined, expected: number[], tol = 1e-5): void {
  assert.ok(actual, `${what}: nothing came back`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('losses and accuracy against numpy', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { outputs, grads } = await run(c);
      for (const [top, expected] of Object.entries(c.outputs)) close(top, outputs.get(top), expected);
      for (const [bottom, expected] of Object.entries(c.grads)) close(`d ${bottom}`, grads.get(bottom), expected);
    });
  }
});

describe('InfogainLoss reads H from infogain_loss_param.source', () => {
  it('the same values as with H as a third bottom', async () => {
    const c = cases.find((k) => k.name.startsWith('infogain: H as the third bottom'))!;
    const file = join(tempDir(), 'H.binaryproto');
    writeCaffeFile(file, { kind: 'blob', dialect: 'bvlc', message: { shape: { dim: [1, 1, 3, 3] }, data: Float32Array.from(c.inputs.H.data) } }, 'binary');
    const { H: _, ...inputs } = c.inputs;
    const layer = c.layer.replace(' bottom: "H"', '').replace(' propagate_down: false propagate_down: false', ' propagate_down: false')
      .replace('loss_param {', `infogain_loss_param { source: ${JSON.stringify(file)} } loss_param {`);
    const { outputs, grads } = await run({ ...c, layer, inputs });
    close('loss', outputs.get('loss'), c.outputs.loss);
    close('d x', grads.get('x'), c.grads.x);
  });
});

describe('loss layers refuse a gradient for their labels, as Caffe does', () => {
  for (const type of ['SoftmaxWithLoss', 'SigmoidCrossEntropyLoss', 'HingeLoss']) {
    it(type, async () => {
      const text = `input: "x"\ninput_shape { dim: 2 dim: 3 }\ninput: "label"\ninput_shape { dim: 2 dim: ${type === 'SigmoidCrossEntropyLoss' ? 3 : 1} }\nlayer { name: "l" type: "${type}" bottom: "x" bottom: "label" top: "loss" }\n`;
      const net = buildNet(parseCaffeText(text, { kinds: ['net'], dialect: 'bvlc' }).message, { phase: 'TRAIN' });
      await assert.rejects(TrainingEngine.create(net, { backward: 'external', inputGrads: ['x', 'label'] }), /cannot backpropagate to its label input 'label'/);
    });
  }
});

describe('loss gradients against finite differences', () => {
  for (const c of cases.filter((k) => Object.keys(k.grads).length)) {
    it(c.name, async () => {
      const shapes = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v.shape]));
      const fixed = Object.keys(c.inputs).filter((k) => !(k in c.grads));
      const vals = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, Float32Array.from(v.data)]));
      // A probability under MultinomialLogisticLoss's 1e-20 clamp has Caffe's gradient, not the clamped function's
      // derivative: the finite differences take the probabilities away from it.
      if (c.layer.includes('MultinomialLogisticLoss')) vals.p = vals.p.map((v) => Math.max(v, 0.05));
      // The prob top is checked as an output too: its gradient does not flow back (Caffe ignores it), so the
      // checker's random weight on it must be zero for the comparison to hold; keep single-top layers only.
      const layer = c.layer.replace(' top: "prob"', '');
      const { checked, failures } = await checkGradients(layer, shapes, { dialect: c.dialect, values: vals, fixed, step: 1e-3, threshold: 2e-3 });
      assert.ok(checked > 0, 'nothing was checked');
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${checked} gradients disagree`);
    });
  }
});

describe('the net outputs come in Caffe\'s order', () => {
  it('by blob name, whatever the layer order (net.cpp keeps them in a std::set<string>): accuracy before loss, "Z" before "a"', async () => {
    const text = 'input: "x"\ninput_shape { dim: 2 dim: 3 }\ninput: "label"\ninput_shape { dim: 2 }\n'
      + 'layer { name: "l" type: "SoftmaxWithLoss" bottom: "x" bottom: "label" top: "loss" }\n'
      + 'layer { name: "s" type: "Split" bottom: "x" top: "x1" top: "x2" }\n'
      + 'layer { name: "acc" type: "Accuracy" bottom: "x1" bottom: "label" top: "accuracy" }\n'
      + 'layer { name: "e" type: "Power" bottom: "x2" top: "Z" }\n';
    const net = buildNet(parseCaffeText(text, { kinds: ['net'] }).message, { phase: 'TRAIN' });
    const engine = await TrainingEngine.create(net, { backward: 'none' });
    try {
      assert.deepEqual([...engine.graph.outputs.keys()], ['Z', 'accuracy', 'loss']);
      const r = await engine.step({ x: Float32Array.from([1, 2, 3, 3, 2, 1]), label: Float32Array.from([2, 0]) });
      assert.deepEqual([...r.outputs.keys()], ['Z', 'accuracy', 'loss']);
      assert.equal(r.outputs.get('accuracy')![0], 1);
    } finally {
      await engine.release();
    }
  });
});

describe('Accuracy in SegNet\'s fork (its accuracy_layer.cpp: partial_sort of (score, class) pairs, no 0/0 guard)', () => {
  // scores [1, 1, 0] label 1: SegNet sorts (1, 1) before (1, 0), so top 1 is class 1, a hit; BVLC counts 2 scores
  // >= 1, a miss. [0, 2, 1] label 1: a hit in both. [3, 0, 0] label 2: a miss in both. Class 0 never appears.
  const inputs = { x: { shape: [3, 3], data: [1, 1, 0, 0, 2, 1, 3, 0, 0] }, label: { shape: [3], data: [1, 1, 2] } };
  const layer = 'type: "Accuracy" bottom: "x" bottom: "label" top: "acc" top: "per_class"';
  it('ties go to the higher class; a class absent from the batch is NaN; the per-class top is [C, 1, 1, 1]', async () => {
    const segnet = await run({ name: 'segnet', dialect: 'segnet', layer, inputs, outputs: {}, grads: {} });
    close('acc', segnet.outputs.get('acc'), [2 / 3]);
    const per = segnet.outputs.get('per_class')!;
    assert.ok(Number.isNaN(per[0]), `class 0: ${per[0]}`);
    assert.deepEqual([per[1], per[2]], [1, 0]);
    const bvlc = await run({ name: 'bvlc', dialect: 'bvlc', layer, inputs, outputs: {}, grads: {} });
    close('bvlc acc', bvlc.outputs.get('acc'), [1 / 3]);
    close('bvlc per class', bvlc.outputs.get('per_class'), [0, 0.5, 0]);
  });
  it('no counted label: NaN in SegNet, 0 in BVLC', async () => {
    const ignored = { x: inputs.x, label: { shape: [3], data: [5, 5, 5] } };
    const l = `${layer} accuracy_param { ignore_label: 5 }`;
    const segnet = await run({ name: 'segnet', dialect: 'segnet', layer: l, inputs: ignored, outputs: {}, grads: {} });
    assert.ok(Number.isNaN(segnet.outputs.get('acc')![0]));
    const bvlc = await run({ name: 'bvlc', dialect: 'bvlc', layer: l, inputs: ignored, outputs: {}, grads: {} });
    assert.equal(bvlc.outputs.get('acc')![0], 0);
  });
});

describe('SegAccuracy (DeepLab and PSPNet seg_accuracy_layer.cpp, util/confusion_matrix.cpp), worked out by hand', () => {
  // Six pixels of a 2x3 image; scores per pixel (classes 0..3), label:
  //   p0 (.1 .9 0 -9) 1 | p1 (.5 .5 .2 -9) 0 | p2 (0 0 3 -9) 2 | p3 (2 1 0 -9) 255 | p4 (1 0 .5 -9) 0 | p5 (.2 .3 .1 -9) 2
  // p1 ties classes 0 and 1: the partial_sort of (score, class) pairs predicts 1 (a first strict max would say 0).
  const channels = [[0.1, 0.5, 0, 2, 1, 0.2], [0.9, 0.5, 0, 1, 0, 0.3], [0, 0.2, 3, 0, 0.5, 0.1], [-9, -9, -9, -9, -9, -9]];
  const label = { shape: [1, 1, 2, 3], data: [1, 0, 2, 255, 0, 2] };
  const scores = (c: number) => ({ shape: [1, c, 2, 3], data: channels.slice(0, c).flat() });
  const layer = (param: string, tops = 'top: "acc"') => `type: "SegAccuracy" bottom: "s" bottom: "l" ${tops} seg_accuracy_param { ignore_label: 255 ${param} }`;
  const forward = (dialect: Dialect, param: string, c: number, tops?: string, l = label) =>
    run({ name: dialect, dialect, layer: layer(param, tops), inputs: { s: scores(c), l }, outputs: {}, grads: {} });

  it('DeepLab, 4 classes: counts (truth, prediction) (1,1) (0,1) (2,2) (0,0) (2,1); accuracy 3/5, mean recall (1/2 + 1 + 1/2) / 3, mean IoU (1/2 + 1/3 + 1/2 + 1) / 4 (class 3 absent: 1)', async () => {
    const r = await forward('deeplab', '', 4);
    close('acc', r.outputs.get('acc'), [3 / 5, 2 / 3, (0.5 + 1 / 3 + 0.5 + 1) / 4], 1e-6);
  });
  it('a batch of two, two ignore labels, a label past the classes (Caffe aborts; here it is not counted): 7/9, 5/6, 17/24', async () => {
    // Image 2: q0 (0 0 0 1) 3 | q1 (1 1 1 1) 7, ignored | q2 (0 2 0 0) 1 | q3 (0 0 0 0) 9, past the 4 classes |
    // q4 (5 0 0 0) 0 | q5 (0 0 1 0) 2. With image 1's five counts the matrix rows are 0: (0,0) 2, (0,1) 1;
    // 1: (1,1) 2; 2: (2,2) 2, (2,1) 1; 3: (3,3) 1. Recall 2/3, 1, 2/3, 1; IoU 2/3, 2/4, 2/3, 1.
    const second = [[0, 1, 0, 0, 5, 0], [0, 1, 2, 0, 0, 0], [0, 1, 0, 0, 0, 1], [1, 1, 0, 0, 0, 0]];
    const inputs = {
      s: { shape: [2, 4, 2, 3], data: [...channels.flat(), ...second.flat()] },
      l: { shape: [2, 1, 2, 3], data: [...label.data, 3, 7, 1, 9, 0, 2] },
    };
    const r = await run({ name: 'batch', dialect: 'deeplab', layer: layer('ignore_label: 7'), inputs, outputs: {}, grads: {} });
    close('acc', r.outputs.get('acc'), [7 / 9, 5 / 6, 17 / 24], 1e-6);
  });
  it('PSPNet (its release has DeepLab\'s layer): the same measures', async () => {
    const r = await forward('pspnet', '', 4);
    close('acc', r.outputs.get('acc'), [3 / 5, 2 / 3, (0.5 + 1 / 3 + 0.5 + 1) / 4], 1e-6);
  });
  it('DeepLab: no pixel counted gives accuracy 0, mean recall 0, mean IoU 1', async () => {
    const r = await forward('deeplab', '', 3, undefined, { shape: [1, 1, 2, 3], data: [255, 255, 255, 255, 255, 255] });
    close('acc', r.outputs.get('acc'), [0, 0, 1]);
  });
  it('DeepLab: reset: false (counting across forwards) is refused, saying so', async () => {
    await assert.rejects(forward('deeplab', 'reset: false', 3), /reset: false .* is not supported/);
  });
});

describe('a label past the classes', () => {
  it('stops the step with the layer named and the label blamed, not an internal error', async () => {
    const inputs = { x: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, label: { shape: [2], data: [1, 3] } };
    await assert.rejects(run({ name: 'past', dialect: 'bvlc', layer: 'type: "SoftmaxWithLoss" bottom: "x" bottom: "label" top: "loss"', inputs, outputs: {}, grads: {} }), (e: CaffeToolError) => {
      assert.ok(e instanceof CaffeToolError, String(e));
      assert.match(e.message, /^ONNX Runtime stopped at the SoftmaxWithLoss layer's GatherElements node 'under_test_picked': GatherElements op: Out of range value in index tensor$/);
      assert.equal(e.where.layer, 'under_test');
      assert.match(e.hint ?? '', /a label that is not a class/);
      return true;
    });
  });
});
