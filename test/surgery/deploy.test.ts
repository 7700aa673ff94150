// deploy: a train/val net to a deploy net, checked against a deploy file written by hand and against the deploy
// net BVLC ships for CaffeNet (models/bvlc_reference_caffenet/deploy.prototxt, with input_shape).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CaffeToolError } from '../../src/errors.js';
import { parseCaffeText, writeCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { loadNet } from '../../src/net/load.js';
import { makeDeploy } from '../../src/surgery/deploy.js';
import { fixture, tempDir } from '../helpers.js';

const net = (text: string) => parseCaffeText(text, { kinds: ['net'] }).message;

describe('deploy', () => {
  it('LeNet train/test becomes the hand-written deploy net', () => {
    const { param } = loadNet(fixture('nets', 'lenet_train_test.prototxt'));
    const r = makeDeploy(param, { inputs: { data: [64, 1, 28, 28] } });
    const out = join(tempDir(), 'deploy.prototxt');
    writeCaffeFile(out, { kind: 'net', dialect: 'bvlc', message: r.param }, 'text');
    assert.equal(readFileSync(out, 'utf8'), readFileSync(fixture('surgery', 'lenet_deploy_b64.prototxt'), 'utf8'));
    assert.deepEqual(r.net.outputs().map((b) => [b.name, b.shape]), [['prob', [64, 10]]]);
    assert.ok(r.notes.some((n) => /SoftmaxWithLoss 'loss' became Softmax 'prob'/.test(n)));
    assert.ok(r.notes.some((n) => /dropped data top label/.test(n)));
  });

  it("CaffeNet train/val becomes BVLC's deploy net, layer for layer (fillers and lr_mult aside)", () => {
    const { param } = loadNet(fixture('nets', 'caffenet_train_val.prototxt'));
    const r = makeDeploy(param, { inputs: { data: [10, 3, 227, 227] } });
    const ours = r.param.layer as Message[];
    // caffe-tool reads the legacy input_shape as Caffe's upgrade does: an Input layer named 'input'.
    const bvlc = loadNet(fixture('nets', 'caffenet_deploy_input_shape.prototxt')).param.layer as Message[];
    assert.equal(ours[0].type, 'Input');
    assert.deepEqual(ours[0].top, ['data']);
    assert.deepEqual(Array.from(((ours[0].input_param as Message).shape as Message[])[0].dim as number[]), [10, 3, 227, 227]);
    assert.deepEqual(Array.from(((bvlc[0].input_param as Message).shape as Message[])[0].dim as number[]), [10, 3, 227, 227]);
    const strip = (l: Message) => {
      const c: Message = { ...l };
      delete c.param;
      for (const k of ['convolution_param', 'inner_product_param']) {
        if (c[k]) {
          const p = { ...(c[k] as Message) };
          delete p.weight_filler;
          delete p.bias_filler;
          c[k] = p;
        }
      }
      return JSON.stringify(c, (_, v) => (v instanceof Float32Array ? Array.from(v) : v));
    };
    assert.deepEqual(ours.slice(1).map(strip), bvlc.slice(1).map(strip));
    assert.deepEqual(r.net.outputs().map((b) => [b.name, b.shape]), [['prob', [10, 1000]]]);
  });

  it('an LMDB Data layer without --input: the error names the top and suggests --input', () => {
    const { param } = loadNet(fixture('nets', 'caffenet_train_val.prototxt'));
    assert.throws(() => makeDeploy(param), (e: unknown) => {
      assert.ok(e instanceof CaffeToolError);
      assert.match(e.message, /top 'data' of Data layer 'data' is unknown/);
      assert.match(e.hint ?? '', /--input data=50,C,227,227/);
      return true;
    });
  });

  it('labels go with every layer that reads them; TEST-excluded layers and rules go; a known shape needs no --input', () => {
    const p = net(`
      name: "t"
      layer { name: "d" type: "DummyData" top: "x" top: "y"
        dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } } }
      layer { name: "fc" type: "InnerProduct" bottom: "x" top: "fc" inner_product_param { num_output: 2 } }
      layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" exclude { phase: TEST } }
      layer { name: "ysc" type: "Power" bottom: "y" top: "y2" power_param { scale: 2 } }
      layer { name: "l2" type: "EuclideanLoss" bottom: "fc" bottom: "y2" top: "l2" }
      layer { name: "sm" type: "Sigmoid" bottom: "fc" top: "s" include { phase: TEST } }
    `);
    const r = makeDeploy(p);
    const layers = r.param.layer as Message[];
    assert.deepEqual(layers.map((l) => [l.name, l.type]), [['d', 'Input'], ['fc', 'InnerProduct'], ['sm', 'Sigmoid']]);
    assert.deepEqual(layers[0].top, ['x']);
    assert.deepEqual(Array.from(((layers[0].input_param as Message).shape as Message[])[0].dim as number[]), [4, 3]);
    assert.ok(layers.every((l) => l.include === undefined && l.exclude === undefined));
    assert.deepEqual(r.net.outputs().map((b) => b.name), ['s']);
  });

  it('SegNet (whose Caffe has no Input layer): the data layer becomes the net\'s input / input_dim, as segnet_inference.prototxt has it', () => {
    const { param, net } = loadNet(fixture('nets', 'segnet_basic_train.prototxt'));
    assert.equal(net.dialect, 'segnet');
    const r = makeDeploy(param, { dialect: net.dialect, inputs: { data: [1, 3, 360, 480] } });
    assert.deepEqual(r.param.input, ['data']);
    assert.deepEqual(r.param.input_dim, [1, 3, 360, 480]);
    assert.ok(!(r.param.layer as Message[]).some((l) => l.type === 'Input'));
    assert.deepEqual(r.net.inputs().map((b) => [b.name, b.shape]), [['data', [1, 3, 360, 480]]]);
    assert.ok(r.notes.some((n) => /segnet's Caffe has no Input layer: data became the net's input field \(data\)/.test(n)));
    const text = join(tempDir(), 'deploy.prototxt');
    writeCaffeFile(text, { kind: 'net', dialect: 'segnet', message: r.param }, 'text');
    assert.match(readFileSync(text, 'utf8'), /^input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 360\ninput_dim: 480\n/m);
  });

  it('refuses --input for a name that is no input', () => {
    const { param } = loadNet(fixture('nets', 'lenet_train_test.prototxt'));
    assert.throws(() => makeDeploy(param, { inputs: { conv1: [1, 1, 28, 28] } }), /--input conv1: the net has no data-layer top/);
  });
});
