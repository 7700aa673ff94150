// The data layers of a training net as batch sources: a data layer of a built Net, its phase and a seed in,
// batches out. Every source owns its cursor, random generator and prefetch queue, so the TRAIN and TEST nets'
// layers never share mutable state, even when they read the same files.
import { isAbsolute, join } from 'node:path';
import { CaffeToolError } from '../../errors.js';
import type { Message } from '../../io/message.js';
import type { Params } from '../../layers/params.js';
import type { Net, NetLayer } from '../../net/net.js';
import type { Rng } from '../../surgery/fillers.js';
import { openDenseImageData } from './dense-image-data.js';
import { openHdf5Data } from './hdf5-data.js';
import { openImageData } from './image-data.js';
import { openImageSegData } from './image-seg-data.js';
import { openLmdbData } from './lmdb-data.js';
import { MemoryFeed, openDummy, openMemory } from './memory.js';
import { type Batch, type BatchSource, layerRng, Prefetcher, Serial } from './source.js';
import { Transformer } from './transform.js';

export { MemoryFeed };
export type { Batch, BatchSource };

export interface DataLayerOptions {
  phase: 'TRAIN' | 'TEST';
  seed: number;
  /** Relative paths in the net (sources, root folders, mean files) are taken from here. */
  baseDir: string;
  /** The arrays of Input and MemoryData tops. */
  memory?: MemoryFeed;
  /**
   * Batches to pass over first, so that a run resumed at iteration N reads what an uninterrupted one would:
   * the cursor, shuffles and random draws move as if they had been read; nothing is decoded. Input and
   * MemoryData do not skip: the caller's arrays decide what they give.
   */
  skip?: number;
}

/** What every layer's source is built from. */
export interface LayerInput {
  layer: { name: string; type: string; tops: string[]; layer: Message };
  params: (field: string) => Params;
  phase: 'TRAIN' | 'TEST';
  rng: Rng;
  transformer: Transformer;
  resolve: (path: string) => string;
  /** Batches decoded ahead (data_param.prefetch, which Caffe reads for every prefetching layer). */
  prefetch: number;
  memory?: MemoryFeed;
}

/** A data layer of a built Net (src/net/net.ts NetLayer) as a prefetching batch source. */
export function openDataLayer(layer: NetLayer, net: Net, opts: DataLayerOptions): BatchSource {
  const at = { layer: layer.name };
  try {
    const params = (field: string) => net.params(layer, field);
    const resolve = (p: string) => (isAbsolute(p) ? p : join(opts.baseDir, p));
    const input: LayerInput = {
      layer: { name: layer.name, type: layer.type, tops: layer.tops.map((t) => t.name), layer: layer.layer },
      params,
      phase: opts.phase,
      rng: layerRng(opts.seed, layer.name, opts.phase),
      transformer: new Transformer(params('transform_param'), opts.phase, resolve),
      resolve,
      prefetch: Math.max(1, params('data_param').num('prefetch')),
      memory: opts.memory,
    };
    const shapes = () => layer.tops.map((t) => {
      if (!t.shape) throw new CaffeToolError(`the shape of top '${t.name}' is not known`, { hint: layer.unknown });
      return t.shape;
    });
    const skipped = (source: Prefetcher | Serial) => {
      if (opts.skip) source.skip(opts.skip);
      return source;
    };
    switch (layer.type) {
      case 'Data':
        return skipped(openLmdbData(input));
      case 'ImageData':
        return skipped(openImageData(input));
      case 'DenseImageData':
        return skipped(openDenseImageData(input));
      case 'ImageSegData':
        return skipped(openImageSegData(input));
      case 'HDF5Data':
        return skipped(openHdf5Data(input));
      case 'Input':
      case 'MemoryData':
        return openMemory(input, shapes());
      case 'DummyData':
        return skipped(openDummy(input, shapes()));
      default:
        throw new CaffeToolError(`${layer.type} is not a data layer caffe-tool can read for training`, {
          hint: 'data layers read here: Data (LMDB), ImageData, DenseImageData, ImageSegData, HDF5Data, Input, MemoryData, DummyData',
        });
    }
  } catch (e) {
    throw e instanceof CaffeToolError ? e.within(at) : e;
  }
}
