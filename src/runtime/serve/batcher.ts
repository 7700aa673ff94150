// Dynamic batching: requests for one model that arrive within maxDelayMs are concatenated along the batch
// axis (up to maxBatch items) and run as one session call; each caller gets its own slice of the outputs.
// One call runs at a time per model: while it runs, the next batch gathers. The queue is bounded.

export interface Tensor {
  data: Float32Array;
  dims: number[];
}
export type Tensors = Record<string, Tensor>;

export interface BatcherOptions {
  /** Items (batch rows, not requests) in one session call. */
  maxBatch: number;
  /** How long the oldest waiting request may wait for others to join it. */
  maxDelayMs: number;
  /** Requests waiting (not yet running) before new ones are refused. */
  maxQueue: number;
  /** false: the model's batch axis is fixed, so each request runs alone, as it came. */
  combine: boolean;
  onBatch?: (items: number, requests: number) => void;
  onQueueDepth?: (depth: number) => void;
}

/** The queue is full: the server answers 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly depth: number) {
    super(`the model's queue is full (${depth} requests waiting): retry later`);
    this.name = 'QueueFullError';
  }
}

interface Pending {
  inputs: Tensors;
  items: number;
  /** Requests batch together only when every input's per-item shape is the same. */
  key: string;
  arrived: number;
  resolve: (out: Tensors) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private readonly queue: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly run: (inputs: Tensors) => Promise<Tensors>, private readonly opts: BatcherOptions) {}

  get depth(): number {
    return this.queue.length;
  }

  /** Run the inputs (each with the batch on axis 0, all the same batch) in the next batch they fit in. */
  submit(inputs: Tensors): Promise<Tensors> {
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.queue.length));
    const first = Object.values(inputs)[0];
    const items = first?.dims[0] ?? 1;
    const key = Object.entries(inputs).map(([n, t]) => `${n}:${t.dims.slice(1).join('x')}`).join(';');
    return new Promise<Tensors>((resolve, reject) => {
      this.queue.push({ inputs, items, key, arrived: performance.now(), resolve, reject });
      this.opts.onQueueDepth?.(this.queue.length);
      this.schedule();
    });
  }

  /** Run what waits now without waiting for the delay, and resolve when nothing is queued or running. */
  drain(): Promise<void> {
    this.flushing = true;
    this.schedule();
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    const waited = performance.now() - this.queue[0].arrived;
    if (this.flushing || !this.opts.combine || this.readyItems() >= this.opts.maxBatch || waited >= this.opts.maxDelayMs) {
      void this.runNext();
      return;
    }
    this.timer = setTimeout(() => this.schedule(), this.opts.maxDelayMs - waited);
  }

  /** Items at the head of the queue that could run together now. */
  private readyItems(): number {
    let n = 0;
    for (const p of this.queue) {
      if (p.key !== this.queue[0].key) break;
      n += p.items;
    }
    return n;
  }

  private async runNext(): Promise<void> {
    const batch = [this.queue.shift()!];
    let items = batch[0].items;
    while (this.opts.combine && this.queue.length && this.queue[0].key === batch[0].key && items + this.queue[0].items <= this.opts.maxBatch) {
      items += this.queue[0].items;
      batch.push(this.queue.shift()!);
    }
    this.running = true;
    this.opts.onQueueDepth?.(this.queue.length);
    this.opts.onBatch?.(items, batch.length);
    try {
      const out = await this.run(batch.length === 1 ? batch[0].inputs : concat(batch.map((p) => p.inputs), items));
      if (batch.length === 1) batch[0].resolve(out);
      else {
        let offset = 0;
        for (const p of batch) {
          p.resolve(slice(out, offset, p.items, items));
          offset += p.items;
        }
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}

/** The requests' inputs, one after another along axis 0. */
function concat(all: Tensors[], items: number): Tensors {
  const out: Tensors = {};
  for (const name of Object.keys(all[0])) {
    const size = all.reduce((a, t) => a + t[name].data.length, 0);
    const data = new Float32Array(size);
    let at = 0;
    for (const t of all) {
      data.set(t[name].data, at);
      at += t[name].data.length;
    }
    out[name] = { data, dims: [items, ...all[0][name].dims.slice(1)] };
  }
  return out;
}

/** Items [offset, offset + n) of every output whose axis 0 is the batch. */
function slice(out: Tensors, offset: number, n: number, items: number): Tensors {
  const mine: Tensors = {};
  for (const [name, t] of Object.entries(out)) {
    if (t.dims[0] !== items) throw new Error(`the output '${name}' (${t.dims.join('x')}) does not have the batch of ${items} on its first axis`);
    const per = t.data.length / items;
    mine[name] = { data: t.data.slice(offset * per, (offset + n) * per), dims: [n, ...t.dims.slice(1)] };
  }
  return mine;
}
