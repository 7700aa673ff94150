// Snapshots as Caffe writes and reads them (Solver::Snapshot, SGDSolver::SnapshotSolverStateToBinaryProto and
// RestoreSolverStateFromBinaryProto): PREFIX_iter_N.caffemodel holds the TRAIN net's layers (each LayerParameter as
// the net gives it, phase set, with its blobs); PREFIX_iter_N.solverstate holds iter, the model's file name,
// current_step and the solver's history blobs in its order. Both are written atomically.
import { dirname, isAbsolute, join } from 'node:path';
import { existsSync } from 'node:fs';
import { CaffeToolError } from '../errors.js';
import { blobData } from '../io/blob.js';
import { readCaffeFile, writeCaffeFile } from '../io/files.js';
import type { Message } from '../io/message.js';
import { count, formatShape } from '../layers/shape.js';
import type { Net } from '../net/net.js';
import type { OwnedParam } from './params.js';

export interface SolverStateData {
  iter: number;
  /** The caffemodel the state belongs to, as the state names it. */
  learnedNet?: string;
  currentStep: number;
  history: Float32Array[];
}

/** PREFIX_iter_N + extension, as Solver::SnapshotFilename. */
export function snapshotName(prefix: string, iter: number, extension: '.caffemodel' | '.solverstate'): string {
  return `${prefix}_iter_${iter}${extension}`;
}

/** The TRAIN net with the current values, as Net::ToProto writes it (no diffs). */
export function netToProto(net: Net, values: Map<OwnedParam, Float32Array>, byLayer: Map<unknown, OwnedParam[]>): Message {
  const layers = net.layers.map((l) => {
    const owners = byLayer.get(l) ?? [];
    const out: Message = { ...l.layer, phase: net.state.phase };
    delete out.blobs;
    if (owners.length) {
      out.blobs = owners.map((p, i) => ({ shape: { dim: [...(l.learned?.[i].shape ?? p.shape)] }, data: values.get(p)! }));
    }
    return out;
  });
  const inputs = net.inputs().map((b) => b.name);
  return { name: net.name, ...(inputs.length ? { input: inputs } : {}), layer: layers };
}

export function writeSnapshot(
  prefix: string, iter: number, net: Net, values: Map<OwnedParam, Float32Array>, byLayer: Map<unknown, OwnedParam[]>,
  state: { currentStep: number; history: Float32Array[]; historyShapes: number[][] },
): { model: string; state: string } {
  const model = snapshotName(prefix, iter, '.caffemodel');
  const statePath = snapshotName(prefix, iter, '.solverstate');
  writeCaffeFile(model, { kind: 'net', dialect: net.dialect, message: netToProto(net, values, byLayer) }, 'binary');
  const message: Message = {
    iter,
    learned_net: model,
    history: state.history.map((h, i) => ({ shape: { dim: [...state.historyShapes[i]] }, data: h })),
    current_step: state.currentStep,
  };
  writeCaffeFile(statePath, { kind: 'solverstate', dialect: net.dialect, message }, 'binary');
  return { model, state: statePath };
}

export function readSolverState(path: string): SolverStateData {
  const file = readCaffeFile(path, { kinds: ['solverstate'] });
  const m = file.message;
  if (m.iter === undefined) throw new CaffeToolError('the solver state has no iter', { where: { file: path } });
  return {
    iter: m.iter as number,
    learnedNet: m.learned_net as string | undefined,
    currentStep: (m.current_step as number | undefined) ?? 0,
    history: ((m.history as Message[] | undefined) ?? []).map((b) => blobData(b)),
  };
}

/** The model a state names: as written (Caffe resolves it from the working folder), else beside the state file. */
export function learnedNetPath(statePath: string, learnedNet: string): string {
  if (isAbsolute(learnedNet) || existsSync(learnedNet)) return learnedNet;
  const beside = join(dirname(statePath), learnedNet.split(/[\\/]/).pop()!);
  if (existsSync(beside)) return beside;
  throw new CaffeToolError(`the solver state names the model ${learnedNet}, which does not exist`, {
    where: { file: statePath }, hint: `put ${learnedNet} back, or keep the .caffemodel beside the .solverstate`,
  });
}

/** Check history blobs against what the solver keeps (SGDSolver: same count, each the param's size). */
export function checkHistory(path: string, history: Float32Array[], shapes: number[][]): void {
  if (history.length !== shapes.length) {
    throw new CaffeToolError(`the solver state holds ${history.length} history blobs, this solver keeps ${shapes.length}`, {
      where: { file: path }, hint: 'resume with the same solver type and net that wrote the snapshot',
    });
  }
  history.forEach((h, i) => {
    if (h.length !== count(shapes[i])) {
      throw new CaffeToolError(`history blob ${i} holds ${h.length} values, the param it belongs to is ${formatShape(shapes[i])}`, { where: { file: path } });
    }
  });
}
