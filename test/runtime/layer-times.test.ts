// Per-layer times from an ONNX Runtime profile: the events below are made by hand, in the profile's own form.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type ort from 'onnxruntime-node';
import { layerOfNode, layerTimes, readProfile } from '../../src/runtime/layer-times.js';
import { tempDir } from '../helpers.js';

const run = (ts: number) => ({ cat: 'Session', name: 'model_run', ts, dur: 90 });
const node = (name: string, ts: number, durUs: number) => ({ cat: 'Node', name: `${name}_kernel_time`, ts, dur: durUs });

describe('layer times from a profile', () => {
  it('a node belongs to the longest layer name it starts with', () => {
    const layers = ['conv1', 'conv1_bn', 'loss'];
    assert.equal(layerOfNode(layers, 'conv1'), 'conv1');
    assert.equal(layerOfNode(layers, 'conv1_dW0'), 'conv1');
    assert.equal(layerOfNode(layers, 'conv1_bn_dx'), 'conv1_bn');
    assert.equal(layerOfNode(layers, 'conv1x'), undefined);
    assert.equal(layerOfNode(layers, 'ReorderOutput'), undefined);
  });

  it('averages the timed runs (not the warm-up), forward and backward apart, fusions by their first name', () => {
    const events = [
      run(0), node('conv1', 10, 5000), // the warm-up run
      run(100), node('conv1', 110, 2000), node('conv1_bn', 120, 1000), node('conv1_dx', 130, 4000),
      node('conv1_bn_dx/SomeFusion/', 140, 3000), node('ReorderOutput', 150, 500), node('loss_sum', 160, 0),
      run(200), node('conv1', 210, 2000),
    ];
    const all = ['conv1', 'conv1_bn', 'loss_sum', 'conv1_dx', 'conv1_bn_dx'];
    const t = layerTimes(events, ['conv1', 'conv1_bn', 'loss'], 2, { forward: new Set(['conv1', 'conv1_bn', 'loss_sum']), all });
    // Per run: conv1 (2 + 2) / 2 ms forward and 4 / 2 backward; conv1_bn 1 / 2 and 3 / 2; the reorder 0.5 / 2.
    assert.deepEqual(t.layers, [
      { layer: 'conv1', forwardMs: 2, backwardMs: 2 },
      { layer: 'conv1_bn', forwardMs: 0.5, backwardMs: 1.5 },
      { layer: 'loss', forwardMs: 0, backwardMs: 0 },
    ]);
    assert.equal(t.otherMs, 0.25);
  });

  it('nodes ONNX Runtime renamed: "fused ip1_1" is ip1\'s, "pool_mean_out_nchwc" is in the forward part as pool_mean is', () => {
    const events = [run(0), node('fused ip1_1', 1, 1000), node('pool_mean_out_nchwc', 2, 2000), node('pool_dx_out_nchwc', 3, 4000)];
    const t = layerTimes(events, ['ip1', 'pool'], 1, { forward: new Set(['ip1_1', 'pool_mean']), all: ['ip1_1', 'pool_mean', 'pool_dx'] });
    assert.deepEqual(t.layers, [{ layer: 'ip1', forwardMs: 1, backwardMs: 0 }, { layer: 'pool', forwardMs: 2, backwardMs: 4 }]);
    assert.equal(layerOfNode(['ip1'], 'fused ip1_1'), 'ip1');
  });

  it('reads the profile a line at a time, from the file with runs in it (not a failed session\'s)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'failed.json'), '[\n{"cat":"Session","name":"model_loading_array","ts":1,"dur":5}\n]\n');
    writeFileSync(join(dir, 'ran.json'), '[\n{"cat":"Session","name":"model_run","ts":10,"dur":9,"args":{}},\n{"cat":"Node","name":"conv1_kernel_time","ts":11,"dur":3000,"args":{"op_name":"Conv"}}\n]\n');
    let ended = false;
    const events = readProfile({ endProfiling: () => { ended = true; } } as unknown as ort.InferenceSession, dir);
    assert.ok(ended, 'profiling ended first');
    assert.deepEqual(events, [{ cat: 'Session', name: 'model_run', ts: 10, dur: 9 }, { cat: 'Node', name: 'conv1_kernel_time', ts: 11, dur: 3000 }]);
  });

  it('without a backward part every node is forward, and no backward is reported', () => {
    const t = layerTimes([run(0), node('conv1', 1, 1000), node('conv1_relu', 2, 1000)], ['conv1'], 1);
    assert.deepEqual(t.layers, [{ layer: 'conv1', forwardMs: 2 }]);
  });
});
