// Snapshots in HDF5 (snapshot_format: HDF5), as Caffe's Net::ToHDF5 and SGDSolver::SnapshotSolverStateToHDF5 write
// them: PREFIX_iter_N.caffemodel.h5 holds a group `data` with one group per layer and one float dataset per blob
// it owns ("0", "1"...); PREFIX_iter_N.solverstate.h5 holds `iter`, `learned_net`, `current_step` and a group
// `history` of datasets "0".."n-1". Both are written beside the target and renamed into place.
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CaffeToolError } from '../errors.js';
import { h5wasm } from '../io/hdf5.js';
import type { Message } from '../io/message.js';
import type { Net } from '../net/net.js';
import type { OwnedParam } from './params.js';
import type { SolverStateData } from './snapshot.js';

type H5File = InstanceType<Awaited<ReturnType<typeof h5wasm>>['File']>;

async function writeAtomicHdf5(path: string, fill: (f: H5File) => void): Promise<void> {
  const h5 = await h5wasm();
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    const f = new h5.File(tmp, 'w');
    try {
      fill(f);
    } finally {
      f.close();
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e instanceof CaffeToolError ? e : new CaffeToolError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** A string dataset as H5LTmake_dataset_string writes it: fixed length, with its terminating NUL. */
const stringData = (s: string) => ({ data: `${s}\0`, dtype: `S${Buffer.byteLength(s) + 1}` });

export async function writeHdf5Snapshot(
  prefix: string, iter: number, net: Net, values: Map<OwnedParam, Float32Array>, byLayer: Map<unknown, OwnedParam[]>,
  state: { currentStep: number; history: Float32Array[]; historyShapes: number[][] },
): Promise<{ model: string; state: string }> {
  const model = `${prefix}_iter_${iter}.caffemodel.h5`;
  const statePath = `${prefix}_iter_${iter}.solverstate.h5`;
  await writeAtomicHdf5(model, (f) => {
    const data = f.create_group('data');
    for (const l of net.layers) {
      const group = data.create_group(l.name);
      // Only blobs a layer owns are saved; a layer sharing another's blob leaves it to the owner.
      (byLayer.get(l) ?? []).forEach((p, i) => {
        if (p.layer === l && p.index === i) group.create_dataset({ name: String(i), data: values.get(p)!, shape: [...p.shape] });
      });
    }
  });
  await writeAtomicHdf5(statePath, (f) => {
    // hdf5_save_int writes a one-element array (H5LTmake_dataset_int of rank 1), not a scalar.
    f.create_dataset({ name: 'iter', data: new Int32Array([iter]), shape: [1] });
    f.create_dataset({ name: 'learned_net', ...stringData(model) });
    f.create_dataset({ name: 'current_step', data: new Int32Array([state.currentStep]), shape: [1] });
    const history = f.create_group('history');
    state.history.forEach((h, i) => history.create_dataset({ name: String(i), data: h, shape: [...state.historyShapes[i]] }));
  });
  return { model, state: statePath };
}

export async function readHdf5SolverState(path: string): Promise<SolverStateData> {
  const h5 = await h5wasm();
  let f: H5File;
  try {
    f = new h5.File(path, 'r');
  } catch (e) {
    throw new CaffeToolError(`cannot open ${path} as HDF5: ${(e as Error).message}`, { cause: e });
  }
  try {
    const scalar = (name: string, fallback?: number) => {
      const d = f.get(name) as { value: unknown } | null;
      if (!d) {
        if (fallback !== undefined) return fallback;
        throw new CaffeToolError(`the solver state has no '${name}'`, { where: { file: path } });
      }
      return Number(ArrayBuffer.isView(d.value) ? (d.value as Int32Array)[0] : d.value);
    };
    const learned = f.get('learned_net') as { value: unknown } | null;
    const history: Float32Array[] = [];
    const group = f.get('history') as { keys(): string[]; get(n: string): { value: unknown } | null } | null;
    for (let i = 0; group && group.get(String(i)); i++) history.push(Float32Array.from(group.get(String(i))!.value as ArrayLike<number>));
    return {
      iter: scalar('iter'),
      learnedNet: learned ? String(learned.value).replace(/\0+$/, '') : undefined,
      currentStep: scalar('current_step', 0),
      history,
    };
  } finally {
    f.close();
  }
}

/** The blobs of a .caffemodel.h5 by layer name (Net::CopyTrainedLayersFromHDF5 reads the `data` group). */
export async function readHdf5Weights(path: string): Promise<Map<string, { shape: number[]; data: Float32Array }[]>> {
  const h5 = await h5wasm();
  const f = new h5.File(path, 'r');
  try {
    const data = f.get('data') as { keys(): string[]; get(n: string): unknown } | null;
    if (!data) throw new CaffeToolError('this HDF5 file has no `data` group: it is not a Caffe .caffemodel.h5', { where: { file: path } });
    const out = new Map<string, { shape: number[]; data: Float32Array }[]>();
    for (const name of data.keys()) {
      const layer = data.get(name) as { get(n: string): { value: unknown; shape: number[] } | null };
      const blobs: { shape: number[]; data: Float32Array }[] = [];
      for (let i = 0; layer.get(String(i)); i++) {
        const d = layer.get(String(i))!;
        blobs.push({ shape: [...d.shape], data: Float32Array.from(d.value as ArrayLike<number>) });
      }
      out.set(name, blobs);
    }
    return out;
  } finally {
    f.close();
  }
}

/** A .caffemodel.h5 as the NetParameter it stands for (layers by name with their blobs), for attachWeights. */
export async function readHdf5WeightsParam(path: string): Promise<Message> {
  const layers = await readHdf5Weights(path);
  // A layer that shares its blobs has an empty group: it is left out, as Caffe's loader skips it.
  return { layer: [...layers].filter(([, blobs]) => blobs.length).map(([name, blobs]) => ({ name, blobs: blobs.map((b) => ({ shape: { dim: b.shape }, data: b.data })) })) };
}
