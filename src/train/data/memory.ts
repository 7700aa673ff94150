// Tops that come from the calling program or from fillers: Input and MemoryData read arrays the caller hands
// to a MemoryFeed, DummyData fills its tops with Caffe's fillers (dummy_data_layer.cpp: a constant filler is
// applied once, any other again for every batch).
import { CaffeToolError } from '../../errors.js';
import type { Message } from '../../io/message.js';
import { count } from '../../layers/shape.js';
import { fill } from '../../surgery/fillers.js';
import type { LayerInput } from './index.js';
import { type Batch, type BatchSource, Serial } from './source.js';

/**
 * Arrays handed over by the calling program, by top name: Caffe's MemoryDataLayer::Reset(data, labels, n).
 * Each array holds `n` items (n a multiple of the batch size); a source cycles through them a batch at a
 * time and starts again from the first item after every reset. The feed only holds the arrays: each source
 * keeps its own position, so one feed may serve the TRAIN and the TEST net.
 */
export class MemoryFeed {
  private readonly arrays = new Map<string, { data: Float32Array; n: number; generation: number }>();
  private generation = 0;

  /** Hand over `n` items for each named top (for MemoryData: its data and label tops). */
  reset(tops: Record<string, Float32Array>, n: number): void {
    if (!(Number.isInteger(n) && n > 0)) throw new CaffeToolError(`MemoryFeed.reset: n is ${n}, it must be a positive whole number of items`);
    this.generation++;
    for (const [name, data] of Object.entries(tops)) {
      if (data.length % n !== 0) throw new CaffeToolError(`MemoryFeed.reset: top '${name}' has ${data.length} values, not a whole number per item for ${n} items`);
      this.arrays.set(name, { data, n, generation: this.generation });
    }
  }

  /** The arrays of a top, or undefined when the caller has not handed any over. */
  get(top: string): { data: Float32Array; n: number; generation: number } | undefined {
    return this.arrays.get(top);
  }
}

/**
 * Input and MemoryData: each top cycles through the feed's array of its name, `batch` items at a time. The
 * arrays are used as they are: Caffe's MemoryDataLayer::Reset does not transform them either.
 */
export function openMemory(input: LayerInput, shapes: number[][]): BatchSource {
  const { layer, memory } = input;
  const batch = shapes[0][0];
  let pos = 0;
  let seen = -1;
  const produce = (): Batch => {
    if (!memory) {
      throw new CaffeToolError(`${layer.type} layer: its tops (${layer.tops.join(', ')}) come from the calling program, and none was given`, {
        where: { layer: layer.name },
        hint: 'pass a MemoryFeed (memory) and call its reset() with the arrays, or use a data layer that reads files',
      });
    }
    const arrays = layer.tops.map((top) => {
      const a = memory.get(top);
      if (!a) throw new CaffeToolError(`no array was handed over for top '${top}'`, { where: { layer: layer.name }, hint: 'MemoryFeed.reset({ [top]: Float32Array, ... }, n)' });
      return a;
    });
    const n = arrays[0].n;
    const generation = Math.max(...arrays.map((a) => a.generation));
    if (arrays.some((a) => a.n !== n)) throw new CaffeToolError(`the arrays handed over for ${layer.tops.join(', ')} hold different numbers of items`, { where: { layer: layer.name } });
    if (n % batch !== 0) throw new CaffeToolError(`${n} items were handed over, not a multiple of the batch size ${batch}`, { where: { layer: layer.name } });
    if (generation !== seen) [seen, pos] = [generation, 0];
    const out: Batch = {};
    layer.tops.forEach((top, k) => {
      const per = count(shapes[k], 1);
      if (arrays[k].data.length !== n * per) {
        throw new CaffeToolError(`top '${top}' is ${shapes[k].join('x')} per batch, so ${n} items need ${n * per} values, and ${arrays[k].data.length} were handed over`, { where: { layer: layer.name } });
      }
      out[top] = { data: arrays[k].data.slice(pos * per, (pos + batch) * per), dims: [...shapes[k]] };
    });
    pos = (pos + batch) % n;
    return out;
  };
  return new Serial(produce);
}

/** DummyData: dummy_data_param's fillers (none: constant 0; one: for every top; else one per top). */
export function openDummy(input: LayerInput, shapes: number[][]): Serial {
  const { layer, params, rng } = input;
  const fillers = params('dummy_data_param').get<Message[]>('data_filler');
  const filler = (k: number): Message | undefined => (fillers.length === 0 ? undefined : fillers[fillers.length === 1 ? 0 : k]);
  const fixed = layer.tops.map((_, k) => {
    const f = filler(k);
    return ((f?.type as string | undefined) ?? 'constant') === 'constant' ? fill(shapes[k], f, rng) : undefined;
  });
  const produce = (): Batch => {
    const out: Batch = {};
    layer.tops.forEach((top, k) => {
      out[top] = { data: fixed[k] ? fixed[k]!.slice() : fill(shapes[k], filler(k), rng), dims: [...shapes[k]] };
    });
    return out;
  };
  return new Serial(produce);
}
