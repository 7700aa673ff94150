// Input, MemoryData (arrays from the caller through a MemoryFeed) and DummyData (Caffe's fillers).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFeed } from '../../../src/train/data/index.js';
import { open } from './helpers.js';

const memoryData = `
layer { name: "mem" type: "MemoryData" top: "data" top: "label"
  memory_data_param { batch_size: 2 channels: 1 height: 2 width: 3 } }`;

describe('MemoryData and Input', () => {
  it('hands out the caller\'s arrays a batch at a time, wrapping, and from the start after a reset', async () => {
    const feed = new MemoryFeed();
    const data = Float32Array.from({ length: 4 * 6 }, (_, i) => i);
    feed.reset({ data, label: Float32Array.of(10, 11, 12, 13) }, 4);
    const src = open(memoryData, 'TRAIN', { memory: feed });
    const b1 = await src.next();
    assert.deepEqual(b1.data.dims, [2, 1, 2, 3]);
    assert.deepEqual([...b1.data.data], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual([...b1.label.data], [10, 11]);
    assert.deepEqual([...(await src.next()).label.data], [12, 13]);
    assert.deepEqual([...(await src.next()).label.data], [10, 11]);
    feed.reset({ data: new Float32Array(12).fill(7), label: Float32Array.of(1, 2) }, 2);
    const after = await src.next();
    assert.deepEqual([...after.label.data], [1, 2]);
    assert.ok(after.data.data.every((v) => v === 7));
    await src.close();
  });

  it('keeps a position per source: TRAIN and TEST read one feed independently', async () => {
    const feed = new MemoryFeed();
    feed.reset({ data: new Float32Array(24), label: Float32Array.of(0, 1, 2, 3) }, 4);
    const [train, test] = [open(memoryData, 'TRAIN', { memory: feed }), open(memoryData, 'TEST', { memory: feed })];
    assert.deepEqual([...(await train.next()).label.data], [0, 1]);
    assert.deepEqual([...(await train.next()).label.data], [2, 3]);
    assert.deepEqual([...(await test.next()).label.data], [0, 1]);
  });

  it('refuses a count that is not a multiple of the batch, and tops without arrays', async () => {
    const feed = new MemoryFeed();
    feed.reset({ data: new Float32Array(18), label: new Float32Array(3) }, 3);
    await assert.rejects(open(memoryData, 'TRAIN', { memory: feed }).next(), /3 items were handed over, not a multiple of the batch size 2/);
    await assert.rejects(open(memoryData, 'TRAIN').next(), /come from the calling program/);
  });

  it('feeds Input tops by name, with the shapes input_param gives', async () => {
    const feed = new MemoryFeed();
    feed.reset({ x: Float32Array.from({ length: 6 }, (_, i) => i), y: Float32Array.of(5, 6, 7) }, 3);
    const src = open('layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 1 dim: 2 } shape { dim: 1 } } }', 'TEST', { memory: feed });
    const b = await src.next();
    assert.deepEqual(b.x, { data: Float32Array.of(0, 1), dims: [1, 2] });
    assert.deepEqual(b.y, { data: Float32Array.of(5), dims: [1] });
    assert.deepEqual([...(await src.next()).x.data], [2, 3]);
  });
});

describe('DummyData', () => {
  it('fills constant tops once and random ones every batch, with the shapes given', async () => {
    const text = `layer { name: "d" type: "DummyData" top: "a" top: "b"
      dummy_data_param { data_filler { type: "constant" value: 3 } data_filler { type: "uniform" min: -1 max: 1 }
        shape { dim: 2 dim: 3 } shape { dim: 4 } } }`;
    const src = open(text, 'TRAIN');
    const [x, y] = [await src.next(), await src.next()];
    assert.deepEqual(x.a, { data: new Float32Array(6).fill(3), dims: [2, 3] });
    assert.deepEqual(x.b.dims, [4]);
    assert.ok(x.b.data.every((v) => v >= -1 && v < 1));
    assert.notDeepEqual(x.b.data, y.b.data);
    assert.deepEqual(y.a.data, x.a.data);
  });

  it('fills with zeros when no filler is given', async () => {
    const src = open('layer { name: "d" type: "DummyData" top: "z" dummy_data_param { num: 2 channels: 1 height: 1 width: 2 } }', 'TEST');
    assert.deepEqual(await src.next(), { z: { data: new Float32Array(4), dims: [2, 1, 1, 2] } });
  });
});
