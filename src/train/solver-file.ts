// A solver prototxt as Caffe's Solver::Init reads it: the train net (exactly one of net, net_param, train_net,
// train_net_param), the test nets (test_net_param, then test_net files, then copies of the generic net, one per
// test_iter), their states, and the snapshot prefix (UpgradeSnapshotPrefixProperty). Relative paths are read as
// Caffe reads them, from the working folder; a net not found there is looked for beside the solver file, and data
// sources not found there are looked for beside the net (then the solver), so fixtures run from any folder.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { upgradeNet, upgradeNotice, upgradeSolver, upgradeSolverNets } from '../convert/upgrade/index.js';
import { CaffeToolError } from '../errors.js';
import { readCaffeFile } from '../io/files.js';
import type { Message } from '../io/message.js';
import { type Dialect, dialectSchema, messageInfo } from '../io/schema.js';
import { Params } from '../layers/params.js';

export interface NetSource {
  param: Message;
  dialect: Dialect;
  /** Where the definition came from: a file, or `solver.prototxt (net_param)`. */
  origin: string;
  phase: 'TRAIN' | 'TEST';
  level: number;
  stages: string[];
}

export interface SolverFile {
  path: string;
  message: Message;
  dialect: Dialect;
  /** The SolverParameter with the schema's defaults. */
  params: Params;
  train: NetSource;
  tests: NetSource[];
  /** The folder relative paths inside the nets are read from. */
  baseDir: string;
  snapshotPrefix: string;
}

export function readSolverFile(path: string, notice?: (m: string) => void): SolverFile {
  const file = readCaffeFile(path, { kinds: ['solver'] });
  const upgraded = upgradeSolver(file.message);
  const n = upgradeNotice(path, upgraded, 'solver');
  if (n) notice?.(n);
  const nets = upgradeSolverNets(upgraded.solver, { dialect: file.dialect });
  const m = upgradeNotice(path, nets, 'a net inside the solver',
    'Caffe\'s own solver reads it as it is, and `caffe-tool upgrade` leaves it so: move it into a file of its own to upgrade it there');
  if (m) notice?.(m);
  const message = nets.solver;
  const params = new Params(message, messageInfo(dialectSchema(file.dialect), 'SolverParameter'));
  const where = { file: path };
  const fail = (m: string, hint?: string) => new CaffeToolError(m, { where, hint });

  const trainFields = ['net', 'net_param', 'train_net', 'train_net_param'].filter((f) => message[f] !== undefined);
  if (trainFields.length === 0) throw fail('the solver names no train net', 'give one of net, net_param, train_net or train_net_param');
  if (trainFields.length > 1) throw fail(`the solver gives the train net ${trainFields.length} times (${trainFields.join(', ')})`, 'keep exactly one of net, net_param, train_net, train_net_param');

  const netFile = (p: string, field: string): NetSource => {
    const found = findFile(p, path);
    if (!found) throw fail(`${field}: ${p} does not exist`, `looked in ${process.cwd()} and beside the solver (${dirname(resolve(path))})`);
    const net = readCaffeFile(found.path, { kinds: ['net'] });
    const up = upgradeNet(net.message, { dialect: net.dialect });
    const note = upgradeNotice(found.path, up);
    if (note) notice?.(note);
    return { param: up.net, dialect: net.dialect, origin: found.path, phase: 'TRAIN', level: 0, stages: [] };
  };
  const inline = (m: Message, field: string): NetSource => ({ param: m, dialect: file.dialect, origin: `${path} (${field})`, phase: 'TRAIN', level: 0, stages: [] });
  const source = (field: string): NetSource => (field.endsWith('_param') ? inline(message[field] as Message, field) : netFile(message[field] as string, field));

  const trainSource = source(trainFields[0]);
  const state = (m: Message | undefined, phase: 'TRAIN' | 'TEST', net: Message) => ({
    phase,
    level: ((m?.level ?? (net.state as Message | undefined)?.level) as number | undefined) ?? 0,
    stages: [...(((net.state as Message | undefined)?.stage as string[] | undefined) ?? []), ...((m?.stage as string[] | undefined) ?? [])],
  });
  const train = { ...trainSource, ...state(message.train_state as Message | undefined, 'TRAIN', trainSource.param) };

  const testIter = (message.test_iter as number[] | undefined) ?? [];
  const sources: NetSource[] = [
    ...((message.test_net_param as Message[] | undefined) ?? []).map((m, i) => inline(m, `test_net_param[${i}]`)),
    ...((message.test_net as string[] | undefined) ?? []).map((p, i) => netFile(p, `test_net[${i}]`)),
  ];
  const generic = message.net !== undefined || message.net_param !== undefined;
  if (generic ? testIter.length < sources.length : testIter.length !== sources.length) {
    throw fail(`test_iter is given ${testIter.length} times for ${sources.length} test nets`, 'give one test_iter per test net');
  }
  if (generic) for (let i = sources.length; i < testIter.length; i++) sources.push(trainSource);
  const testStates = (message.test_state as Message[] | undefined) ?? [];
  if (testStates.length && testStates.length !== sources.length) {
    throw fail(`test_state is given ${testStates.length} times for ${sources.length} test nets`, 'give test_state once per test net, or not at all');
  }
  if (sources.length && !params.num('test_interval')) {
    throw fail(`the solver has ${sources.length} test net${sources.length > 1 ? 's' : ''} but test_interval is 0`, 'set test_interval (how many iterations between tests), or remove test_iter');
  }
  const tests = sources.map((s, i) => ({ ...s, ...state(testStates[i], 'TEST', s.param) }));

  const netDir = trainSource.origin.endsWith(')') ? dirname(resolve(path)) : dirname(resolve(trainSource.origin));
  const baseDir = dataBaseDir(train.param, [netDir, dirname(resolve(path))]);
  return { path, message, dialect: file.dialect, params, train, tests, baseDir, snapshotPrefix: snapshotPrefix(message, path) };
}

/** A relative path from the working folder (as Caffe reads it), else beside the solver. */
function findFile(p: string, solverPath: string): { path: string } | undefined {
  if (isAbsolute(p) || existsSync(p)) return existsSync(p) ? { path: p } : undefined;
  const beside = join(dirname(solverPath), p);
  return existsSync(beside) ? { path: beside } : undefined;
}

/**
 * Where the net's relative data paths are read from: the working folder, as Caffe does, unless none of its data
 * sources is there and they are in one of `candidates` (the net's folder, the solver's).
 */
function dataBaseDir(net: Message, candidates: string[]): string {
  const sources = ((net.layer as Message[] | undefined) ?? []).flatMap((l) =>
    ['data_param', 'image_data_param', 'dense_image_data_param', 'hdf5_data_param']
      .map((f) => (l[f] as Message | undefined)?.source as string | undefined)
      .filter((s): s is string => !!s && !isAbsolute(s)));
  if (!sources.length || sources.some((s) => existsSync(s))) return process.cwd();
  return candidates.find((dir) => sources.some((s) => existsSync(join(dir, s)))) ?? process.cwd();
}

/**
 * UpgradeSnapshotPrefixProperty: no prefix -> the solver file without its extension; a folder -> folder/solver stem.
 * A relative prefix is from the working folder, as in Caffe.
 */
function snapshotPrefix(message: Message, solverPath: string): string {
  const given = message.snapshot_prefix as string | undefined;
  if (given === undefined) return solverPath.slice(0, solverPath.length - extname(solverPath).length);
  const prefix = given;
  const stem = basename(solverPath, extname(solverPath));
  try {
    if (statSync(prefix).isDirectory()) return join(prefix, stem);
  } catch {
    // not a folder: a file-name prefix
  }
  return prefix;
}

/** A net file given directly (`caffe-tool test --model`): its relative data paths from the working folder, else beside it. */
export function readNetSource(path: string, phase: 'TRAIN' | 'TEST', notice?: (m: string) => void): { source: NetSource; baseDir: string } {
  // A prototxt, as Caffe's ReadNetParamsFromTextFileOrDie: a .caffemodel here is most likely -weights swapped in.
  const net = readCaffeFile(path, { kinds: ['net'], encoding: 'text' });
  const up = upgradeNet(net.message, { dialect: net.dialect });
  const note = upgradeNotice(path, up);
  if (note) notice?.(note);
  const baseDir = dataBaseDir(up.net, [dirname(resolve(path))]);
  const state = (up.net.state as Message | undefined) ?? {};
  return {
    source: { param: up.net, dialect: net.dialect, origin: path, phase, level: (state.level as number | undefined) ?? 0, stages: (state.stage as string[] | undefined) ?? [] },
    baseDir,
  };
}
