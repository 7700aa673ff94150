// Per-layer times from an ONNX Runtime profile: the events below are made by hand, in the profile's own form.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layerOfNode, layerTimes } from '../../src/runtime/layer-times.js';

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
    const t = layerTimes(events, ['conv1', 'conv1_bn', 'loss'], 2, new Set(['conv1', 'conv1_bn', 'loss_sum']));
    // Per run: conv1 (2 + 2) / 2 ms forward and 4 / 2 backward; conv1_bn 1 / 2 and 3 / 2; the reorder 0.5 / 2.
    assert.deepEqual(t.layers, [
      { layer: 'conv1', forwardMs: 2, backwardMs: 2 },
      { layer: 'conv1_bn', forwardMs: 0.5, backwardMs: 1.5 },
      { layer: 'loss', forwardMs: 0, backwardMs: 0 },
    ]);
    assert.equal(t.otherMs, 0.25);
  });

  it('without a backward part every node is forward, and no backward is reported', () => {
    const t = layerTimes([run(0), node('conv1', 1, 1000), node('conv1_relu', 2, 1000)], ['conv1'], 1);
    assert.deepEqual(t.layers, [{ layer: 'conv1', forwardMs: 2 }]);
  });
});
