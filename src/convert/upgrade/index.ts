// Old nets and solvers to today's format, step by step in the order of Caffe's UpgradeNetAsNeeded
// (src/caffe/util/upgrade_proto.cpp, BVLC master): V0 -> V1 (padding layers folded first), data
// transformation fields, V1 -> V2, input fields -> Input layer, old-style BatchNorm param specs. Solvers:
// solver_type -> type (UpgradeSolverAsNeeded); nets inside a solver only for the trainer. Pure functions: the input message is never changed and weights are shared, not copied.
import { CaffeToolError } from '../../errors.js';
import type { Message } from '../../io/message.js';
import type { Dialect } from '../../io/schema.js';
import { netNeedsBatchNormUpgrade, upgradeNetBatchNorm } from './batch-norm.js';
import { count, type StepResult } from './common.js';
import { netNeedsDataUpgrade, upgradeNetDataTransformation } from './data-transform.js';
import { dialectHasInputLayer, netNeedsInputUpgrade, upgradeNetInput } from './input.js';
import { solverNeedsTypeUpgrade, upgradeSolverType } from './solver-type.js';
import { refuseMixedLayers, upgradeV1ToV2 } from './v1-to-v2.js';
import { upgradeV0ToV1 } from './v0-to-v1.js';

export { MIXED_LAYERS_REASON } from './v1-to-v2.js';
export { BOTH_SOLVER_TYPES_REASON } from './solver-type.js';

/** The format generation of a net: V0 (`layers { layer { } }`), V1 (`layers { }`), V2 (`layer { }`). */
export type NetVersion = 'V0' | 'V1' | 'V2';

export interface NetUpgrade {
  net: Message;
  /** One line per change, in Caffe's order; empty when the net is already current. */
  changes: string[];
  /** What Caffe would call "not fully compatible": fields dropped or not placed. */
  warnings: string[];
  /** The generation the input was written in. */
  from: NetVersion;
  /** What was left as it is on purpose (not a problem), such as input fields in a fork without Input layers. */
  notes: string[];
}

export interface UpgradeOptions {
  /** The fork the net is written for (default bvlc): forks without an Input layer keep their input fields. */
  dialect?: Dialect;
}

export interface SolverUpgrade {
  solver: Message;
  changes: string[];
  warnings: string[];
}

export function netVersion(net: Message): NetVersion {
  const layers = (net.layers as Message[] | undefined) ?? [];
  if (layers.some((l) => l.layer !== undefined)) return 'V0';
  return layers.length > 0 ? 'V1' : 'V2';
}

/** Caffe's NetNeedsV0ToV1Upgrade: any `layers` entry holds a V0 `layer`. */
export function netNeedsV0ToV1Upgrade(net: Message): boolean {
  return netVersion(net) === 'V0';
}

/** Caffe's NetNeedsV1ToV2Upgrade: the net has `layers` at all. */
export function netNeedsV1ToV2Upgrade(net: Message): boolean {
  return count(net, 'layers') > 0;
}

/**
 * Caffe's NetNeedsUpgrade (master): whether Caffe would run any step. An old-style BatchNorm whose specs are
 * already zero counts, as in Caffe, though upgradeNet then reports no change.
 */
export function netNeedsUpgrade(net: Message, opts: UpgradeOptions = {}): boolean {
  return netNeedsV0ToV1Upgrade(net) || netNeedsV1ToV2Upgrade(net) || netNeedsDataUpgrade(net) ||
    (netNeedsInputUpgrade(net) && dialectHasInputLayer(opts.dialect ?? 'bvlc')) || netNeedsBatchNormUpgrade(net);
}

/**
 * Upgrade a NetParameter (text or binary, any dialect) to the current format. Throws a CaffeToolError with
 * Caffe's reason where Caffe stops: a net with both `layer` and `layers`, a padding layer feeding anything
 * but a convolution or pooling layer, an unknown V0 or V1 layer type, input shapes that do not match.
 */
export function upgradeNet(net: Message, opts: UpgradeOptions = {}): NetUpgrade {
  const from = netVersion(net);
  const notes: string[] = [];
  // Caffe's V0 step would silently drop the `layer` entries of a mixed net (it clears the net); its V1 step
  // refuses them. Refuse up front either way: nothing is lost without the user knowing.
  refuseMixedLayers(net);
  let current = net;
  const changes: string[] = [];
  const warnings: string[] = [];
  const run = (step: (n: Message) => StepResult) => {
    const r = step(current);
    current = r.net;
    changes.push(...r.changes);
    warnings.push(...r.warnings);
  };
  if (netNeedsV0ToV1Upgrade(current)) run(upgradeV0ToV1);
  if (netNeedsDataUpgrade(current)) run(upgradeNetDataTransformation);
  if (netNeedsV1ToV2Upgrade(current)) run(upgradeV1ToV2);
  if (netNeedsInputUpgrade(current)) {
    const dialect = opts.dialect ?? 'bvlc';
    if (dialectHasInputLayer(dialect)) run(upgradeNetInput);
    else notes.push(`net: input fields kept: the ${dialect} fork has no Input layer, and its Caffe reads them as they are`);
  }
  if (netNeedsBatchNormUpgrade(current)) run(upgradeNetBatchNorm);
  return { net: changes.length ? current : net, changes, warnings, from, notes };
}

/** The one line a loader prints on stderr when it upgraded a file in memory, or undefined when it did not. */
export function upgradeNotice(
  file: string,
  r: { changes: string[]; warnings: string[] },
  what = 'net',
  tail = `\`caffe-tool upgrade ${file} OUT\` writes it`,
): string | undefined {
  if (!r.changes.length) return undefined;
  const n = r.changes.length;
  const warned = r.warnings.length ? `, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}` : '';
  const what1 = n === 1 ? `: ${r.changes[0]}` : `, such as ${r.changes[0]}`;
  return `${file}: ${what} upgraded in memory to the current format (${n} change${n === 1 ? '' : 's'}${what1}${warned}); ${tail}`;
}

/**
 * Upgrade a SolverParameter as Caffe's UpgradeSolverAsNeeded does: solver_type -> type (refusing both). Nets
 * written inside the solver are left as they are, as upgrade_solver_proto_text leaves them.
 */
export function upgradeSolver(solver: Message): SolverUpgrade {
  if (!solverNeedsTypeUpgrade(solver)) return { solver, changes: [], warnings: [] };
  const r = upgradeSolverType(solver);
  return { solver: r.solver, changes: r.changes, warnings: [] };
}

/** The nets a solver may carry inline. */
const INLINE_NETS = ['net_param', 'train_net_param', 'test_net_param'] as const;

/**
 * Upgrade the nets written inside a solver (net_param, train_net_param, test_net_param), for a trainer that
 * reads them: Caffe's Solver hands them to Net as they are, which would not read V1 `layers`.
 */
export function upgradeSolverNets(solver: Message, opts: UpgradeOptions = {}): SolverUpgrade {
  const changes: string[] = [];
  const warnings: string[] = [];
  let out = solver;
  for (const field of INLINE_NETS) {
    const v = out[field];
    if (v === undefined) continue;
    const nets = Array.isArray(v) ? (v as Message[]) : [v as Message];
    let touched = false;
    const upgraded = nets.map((n, i) => {
      const label = Array.isArray(v) ? `${field}[${i}]` : field;
      let r: NetUpgrade;
      try {
        r = upgradeNet(n, opts);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ path: label }) : e;
      }
      if (r.changes.length) touched = true;
      changes.push(...r.changes.map((c) => `${label}: ${c}`));
      warnings.push(...r.warnings.map((w) => `${label}: ${w}`));
      return r.net;
    });
    if (touched) out = { ...out, [field]: Array.isArray(v) ? upgraded : upgraded[0] };
  }
  return { solver: out, changes, warnings };
}
