// The batcher on its own (a recording stand-in for the session), and the Prometheus text it is measured in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher, QueueFullError, type Tensors } from '../../src/runtime/serve/batcher.js';
import { ServeMetrics } from '../../src/runtime/serve/metrics.js';

/** A "model" that doubles its input and records the batch it was called with. */
function doubler(calls: number[][], delayMs = 0) {
  return async (inputs: Tensors): Promise<Tensors> => {
    const x = inputs.x;
    calls.push(Array.from(x.data));
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return { y: { data: x.data.map((v) => v * 2), dims: [...x.dims] } };
  };
}
const item = (...values: number[]) => ({ x: { data: Float32Array.from(values), dims: [values.length, 1] } });

describe('serve batcher', () => {
  it('batches requests that arrive within the delay, and gives each caller its own slice', async () => {
    const calls: number[][] = [];
    const sizes: number[] = [];
    const b = new Batcher(doubler(calls), { maxBatch: 8, maxDelayMs: 30, maxQueue: 16, combine: true, onBatch: (n) => sizes.push(n) });
    const outs = await Promise.all([b.submit(item(1)), b.submit(item(2, 3)), b.submit(item(4))]);
    assert.deepEqual(calls, [[1, 2, 3, 4]]);
    assert.deepEqual(sizes, [4]);
    assert.deepEqual(outs.map((o) => [Array.from(o.y.data), o.y.dims]), [[[2], [1, 1]], [[4, 6], [2, 1]], [[8], [1, 1]]]);
  });

  it('never puts more than maxBatch items in one call, and runs a full batch without waiting', async () => {
    const calls: number[][] = [];
    const b = new Batcher(doubler(calls), { maxBatch: 3, maxDelayMs: 10_000, maxQueue: 16, combine: true });
    const t0 = performance.now();
    const outs = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => b.submit(item(v))));
    assert.ok(performance.now() - t0 < 5000, 'full batches do not wait for the delay');
    assert.deepEqual(calls, [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(outs.map((o) => o.y.data[0]), [2, 4, 6, 8, 10, 12]);
  });

  it('a request waits no longer than the delay for company', async () => {
    const calls: number[][] = [];
    const b = new Batcher(doubler(calls), { maxBatch: 8, maxDelayMs: 40, maxQueue: 16, combine: true });
    const t0 = performance.now();
    await b.submit(item(7));
    const waited = performance.now() - t0;
    assert.ok(waited >= 35 && waited < 1000, `waited ${waited} ms`);
    assert.deepEqual(calls, [[7]]);
  });

  it('requests with different per-item shapes run in separate calls', async () => {
    const calls: number[][] = [];
    const b = new Batcher(doubler(calls), { maxBatch: 8, maxDelayMs: 20, maxQueue: 16, combine: true });
    const wide = { x: { data: Float32Array.from([5, 6]), dims: [1, 2] } };
    const outs = await Promise.all([b.submit(item(1)), b.submit(wide), b.submit(item(2))]);
    assert.deepEqual(calls, [[1], [5, 6], [2]]);
    assert.deepEqual(Array.from(outs[1].y.data), [10, 12]);
  });

  it('without combining (a fixed batch), each request runs alone, one at a time', async () => {
    const calls: number[][] = [];
    let running = 0;
    let most = 0;
    const run = async (inputs: Tensors) => {
      most = Math.max(most, ++running);
      const out = await doubler(calls, 5)(inputs);
      running--;
      return out;
    };
    const b = new Batcher(run, { maxBatch: 8, maxDelayMs: 50, maxQueue: 16, combine: false });
    await Promise.all([b.submit(item(1)), b.submit(item(2)), b.submit(item(3))]);
    assert.deepEqual(calls, [[1], [2], [3]]);
    assert.equal(most, 1);
  });

  it('refuses a request when maxQueue are waiting, and takes it again once there is room', async () => {
    const calls: number[][] = [];
    const depths: number[] = [];
    const b = new Batcher(doubler(calls), { maxBatch: 8, maxDelayMs: 30, maxQueue: 2, combine: true, onQueueDepth: (d) => depths.push(d) });
    const first = [b.submit(item(1)), b.submit(item(2))];
    await assert.rejects(b.submit(item(3)), (e: unknown) => e instanceof QueueFullError && /queue is full \(2 requests waiting\)/.test(e.message));
    assert.equal(b.depth, 2);
    await Promise.all(first);
    assert.equal(b.depth, 0);
    assert.equal((await b.submit(item(4))).y.data[0], 8);
    assert.deepEqual(depths, [1, 2, 0, 1, 0]);
  });

  it('a failing call fails every request in it, and the next batch runs', async () => {
    let fail = true;
    const b = new Batcher(async (inputs) => {
      if (fail) throw new Error('session failed');
      return { y: inputs.x };
    }, { maxBatch: 8, maxDelayMs: 20, maxQueue: 16, combine: true });
    const results = await Promise.allSettled([b.submit(item(1)), b.submit(item(2))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    fail = false;
    assert.deepEqual(Array.from((await b.submit(item(3))).y.data), [3]);
  });

  it('drain runs what waits at once and resolves when idle', async () => {
    const calls: number[][] = [];
    const b = new Batcher(doubler(calls, 20), { maxBatch: 8, maxDelayMs: 60_000, maxQueue: 16, combine: true });
    const pending = b.submit(item(9));
    const t0 = performance.now();
    await b.drain();
    assert.ok(performance.now() - t0 < 5000);
    assert.equal((await pending).y.data[0], 18);
    assert.deepEqual(calls, [[9]]);
  });
});

describe('serve metrics text', () => {
  it('writes HELP and TYPE lines, cumulative buckets ending in +Inf, _sum and _count, escaped labels', () => {
    const m = new ServeMetrics();
    m.requests.inc({ model: 'a"b\\c', endpoint: 'infer', status: '200' });
    m.requests.inc({ model: 'a"b\\c', endpoint: 'infer', status: '200' });
    for (const v of [1, 3, 3, 8, 300]) m.batchSize.observe({ model: 'm' }, v);
    m.queueDepth.set({ model: 'm' }, 4);
    const text = m.render();
    assert.ok(text.endsWith('\n'));
    const lines = text.split('\n');
    assert.ok(lines.includes('# TYPE caffe_tool_requests_total counter'));
    assert.ok(lines.includes('caffe_tool_requests_total{model="a\\"b\\\\c",endpoint="infer",status="200"} 2'));
    assert.ok(lines.includes('# TYPE caffe_tool_batch_size histogram'));
    // Bounds 1, 2, 4, 8, 16, ...: 1 -> le=1; 3, 3 -> le=4; 8 -> le=8; 300 only in +Inf.
    const bucket = (le: string) => lines.find((l) => l.startsWith(`caffe_tool_batch_size_bucket{model="m",le="${le}"} `))?.split(' ')[1];
    assert.deepEqual(['1', '2', '4', '8', '16', '256', '+Inf'].map(bucket), ['1', '1', '3', '4', '4', '4', '5']);
    assert.ok(lines.includes('caffe_tool_batch_size_sum{model="m"} 315'));
    assert.ok(lines.includes('caffe_tool_batch_size_count{model="m"} 5'));
    assert.ok(lines.includes('# TYPE caffe_tool_queue_depth gauge'));
    assert.ok(lines.includes('caffe_tool_queue_depth{model="m"} 4'));
    // Every sample line is NAME{labels} VALUE.
    for (const l of lines.filter((x) => x && !x.startsWith('#'))) assert.match(l, /^[a-z_]+(\{[^}]*\})? [-+0-9.eInfNa]+$/, l);
  });
});
