// What a data layer gives the trainer (a batch per call) and the prefetch queue behind the file-reading ones.
// A batch is planned synchronously, in order (the cursor moves and every random draw is made then), and
// decoded asynchronously: sharp decodes on libuv's thread pool, so up to `depth` planned batches decode while
// the training loop works, and the batches still come out in the same order with the same values whatever
// the timing.
import { Rng } from '../../surgery/fillers.js';

export interface Batch {
  [top: string]: { data: Float32Array; dims: number[] };
}

export interface BatchSource {
  next(): Promise<Batch>;
  close(): Promise<void>;
}

/** Makes the next batch's plan (cursor, shuffles, random draws) and returns the work that fills it. */
export type Planner = () => () => Promise<Batch>;

export class Prefetcher implements BatchSource {
  private readonly queue: Promise<Batch>[] = [];
  private closed = false;

  constructor(private readonly depth: number, private readonly plan: Planner, private readonly release: () => void = () => {}) {}

  private fill(): void {
    while (this.queue.length < this.depth) {
      let p: Promise<Batch>;
      try {
        p = this.plan()();
      } catch (e) {
        p = Promise.reject(e);
      }
      // A failure is reported when its batch is asked for, not as an unhandled rejection before.
      p.catch(() => {});
      this.queue.push(p);
    }
  }

  /** Pass over `n` batches: their plans are made (cursor, shuffles, draws) and their decoding never done. */
  skip(n: number): void {
    if (this.queue.length) throw new Error('skip() after batches were asked for');
    for (let i = 0; i < n; i++) this.plan();
  }

  next(): Promise<Batch> {
    if (this.closed) return Promise.reject(new Error('next() on a closed data source'));
    this.fill();
    const p = this.queue.shift()!;
    this.fill();
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.queue.splice(0));
    this.release();
  }
}

/** Runs calls one after the other, for sources whose next() is cheap but stateful (memory, HDF5 rows). */
export class Serial implements BatchSource {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly produce: () => Batch | Promise<Batch>) {}

  next(): Promise<Batch> {
    const p = this.chain.then(() => this.produce());
    this.chain = p.catch(() => {});
    return p;
  }

  /** Pass over `n` batches (made and dropped: these sources are cheap); a failure shows at the next call. */
  skip(n: number): void {
    const p = this.chain.then(async () => {
      for (let i = 0; i < n; i++) await this.produce();
    });
    this.chain = p;
    p.catch(() => {});
  }

  async close(): Promise<void> {
    await this.chain.catch(() => {});
  }
}

/** A layer's own generator: the seed mixed with the layer name and phase, so TRAIN and TEST draw differently. */
export function layerRng(seed: number, layer: string, phase: string): Rng {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  for (const ch of `${phase}/${layer}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h);
}

/** An integer in [0, n), from one uniform draw. */
export const randInt = (u: number, n: number): number => Math.min(n - 1, Math.floor(u * n));

/** Fisher-Yates, in place (Caffe's shuffle(), with this generator). */
export function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randInt(rng.uniform(), i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}
