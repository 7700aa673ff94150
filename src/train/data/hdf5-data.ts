// HDF5Data (hdf5_data_layer.cpp): hdf5_data_param.source is a text file listing .h5 files, one per line; each
// file holds one dataset per top, named like the top, all with the same number of rows (the first axis). Rows
// are handed out batch_size at a time, across file boundaries; with shuffle, the file order is shuffled at
// the start and at every wrap-around, and the rows of each file every time it is loaded or restarted. Values
// are read as float whatever the stored type. Caffe refuses a transform_param here, and so does this.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { CaffeToolError } from '../../errors.js';
import { h5wasm } from '../../io/hdf5.js';
import { count } from '../../layers/shape.js';
import type { LayerInput } from './index.js';
import { type Batch, Serial, shuffle } from './source.js';

type H5 = typeof import('h5wasm/node');

interface Loaded {
  file: string;
  rows: number;
  /** Per top: all rows, and the dims of one row. */
  tops: { data: Float32Array; row: number[] }[];
}

export function openHdf5Data(input: LayerInput): Serial {
  const { layer, params, rng, resolve } = input;
  if (layer.layer.transform_param !== undefined) {
    throw new CaffeToolError('HDF5Data does not transform data: Caffe refuses a transform_param on it', {
      where: { layer: layer.name },
      hint: 'store the data already scaled and mean-subtracted in the .h5 files',
    });
  }
  const p = params('hdf5_data_param');
  const listFile = resolve(p.str('source'));
  let text: string;
  try {
    text = readFileSync(listFile, 'utf8');
  } catch (e) {
    throw new CaffeToolError(`cannot read the HDF5 file list ${listFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { where: { layer: layer.name }, cause: e });
  }
  // Caffe reads the list with `>>`: whitespace-separated names, relative to where Caffe runs.
  // Caffe opens the listed files from the working folder; a name not found there is read beside the list file.
  const files = text.split(/\s+/).filter(Boolean).map((f) => {
    const path = resolve(f);
    const beside = join(dirname(listFile), f);
    return { path: !isAbsolute(f) && !existsSync(path) && existsSync(beside) ? beside : path };
  });
  if (!files.length) throw new CaffeToolError(`the HDF5 file list ${listFile} names no files`, { where: { layer: layer.name } });
  const batchSize = p.num('batch_size');
  const doShuffle = p.bool('shuffle');
  const order = files.map((_, i) => i);
  if (doShuffle) shuffle(order, rng);
  let fileIndex = 0;
  let row = 0;
  let rows: number[] = [];
  let current: Loaded | undefined;

  const load = async () => {
    const { path } = files[order[fileIndex]];
    current = await readH5(path, layer.tops, { file: listFile, layer: layer.name });
    rows = Array.from({ length: current.rows }, (_, i) => i);
    if (doShuffle) shuffle(rows, rng);
  };

  const produce = async (): Promise<Batch> => {
    if (!current) await load();
    const first = current!;
    const out = first.tops.map((t) => ({ data: new Float32Array(batchSize * count(t.row)), dims: [batchSize, ...t.row] }));
    for (let i = 0; i < batchSize; i++) {
      const cur = current!;
      cur.tops.forEach((t, k) => {
        if (t.row.join() !== out[k].dims.slice(1).join()) {
          throw new CaffeToolError(`dataset '${layer.tops[k]}' of ${cur.file} has rows of ${t.row.join('x') || 'one value'}, the earlier files ${out[k].dims.slice(1).join('x') || 'one value'}`, { where: { layer: layer.name } });
        }
        const n = count(t.row);
        out[k].data.set(t.data.subarray(rows[row] * n, (rows[row] + 1) * n), i * n);
      });
      if (++row >= cur.rows) {
        row = 0;
        if (files.length > 1) {
          if (++fileIndex >= files.length) {
            fileIndex = 0;
            if (doShuffle) shuffle(order, rng);
          }
          await load();
        } else if (doShuffle) shuffle(rows, rng);
      }
    }
    const batch: Batch = {};
    layer.tops.forEach((top, k) => (batch[top] = out[k]));
    return batch;
  };
  return new Serial(produce);
}

async function readH5(path: string, tops: string[], where: { file: string; layer: string }): Promise<Loaded> {
  const h5 = await h5wasm();
  let f: InstanceType<H5['File']>;
  try {
    f = new h5.File(path, 'r');
  } catch (e) {
    throw new CaffeToolError(`cannot open the HDF5 file ${path}: ${(e as Error).message.split('\n')[0]}`, {
      where: { file: where.file, layer: where.layer },
      hint: 'the list names .h5 files relative to where caffe-tool runs (as Caffe does), one per line',
      cause: e,
    });
  }
  try {
    const loaded: Loaded = { file: path, rows: -1, tops: [] };
    for (const top of tops) {
      const ds = f.get(top);
      if (!ds || !('type' in ds) || ds.type !== 'Dataset') {
        throw new CaffeToolError(`${path} has no dataset '${top}': HDF5Data reads one dataset per top, named like the top`, {
          where: { file: where.file, layer: where.layer },
          hint: `datasets there: ${f.keys().join(', ') || 'none'}`,
        });
      }
      const dataset = ds as InstanceType<H5['Dataset']>;
      const shape = (dataset.shape ?? []).map(Number);
      if (!shape.length) throw new CaffeToolError(`dataset '${top}' of ${path} is a scalar: it needs a first axis of rows`, { where: { layer: where.layer } });
      const value = dataset.value as unknown;
      if (!ArrayBuffer.isView(value)) throw new CaffeToolError(`dataset '${top}' of ${path} is not numeric (HDF5 type ${dataset.dtype})`, { where: { layer: where.layer } });
      const src = value as unknown as ArrayLike<number | bigint>;
      const data = src instanceof Float32Array ? src : Float32Array.from(src as ArrayLike<number>, Number);
      if (loaded.rows >= 0 && shape[0] !== loaded.rows) {
        throw new CaffeToolError(`dataset '${top}' of ${path} has ${shape[0]} rows but '${tops[0]}' has ${loaded.rows}: every top needs one row per sample`, { where: { layer: where.layer } });
      }
      loaded.rows = shape[0];
      loaded.tops.push({ data, row: shape.slice(1) });
    }
    if (loaded.rows <= 0) throw new CaffeToolError(`${path} holds no rows`, { where: { layer: where.layer } });
    return loaded;
  } finally {
    f.close();
  }
}
