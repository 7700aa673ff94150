// Solver type (Caffe's SolverNeedsTypeUpgrade / UpgradeSolverType): the deprecated `solver_type` enum becomes
// the `type` string. A solver that gives both is refused, as Caffe refuses it.
import type { Message } from '../../io/message.js';
import { show, upgradeError } from './common.js';

/** Caffe's table, enum name -> type string. */
export const SOLVER_TYPES: Readonly<Record<string, string>> = {
  SGD: 'SGD',
  NESTEROV: 'Nesterov',
  ADAGRAD: 'AdaGrad',
  RMSPROP: 'RMSProp',
  ADADELTA: 'AdaDelta',
  ADAM: 'Adam',
};

export const BOTH_SOLVER_TYPES_REASON =
  'Failed to upgrade solver: old solver_type field (enum) and new type field (string) cannot be both specified in solver proto text.';

export function solverNeedsTypeUpgrade(solver: Message): boolean {
  return solver.solver_type !== undefined;
}

export function upgradeSolverType(solver: Message): { solver: Message; changes: string[] } {
  if (solver.solver_type === undefined) return { solver, changes: [] };
  const old = solver.solver_type as string | number;
  if (solver.type !== undefined) {
    throw upgradeError(BOTH_SOLVER_TYPES_REASON, {
      where: { path: 'solver_type' },
      hint: `this solver has solver_type: ${old} and type: ${show(solver.type)}; delete solver_type (type wins in current Caffe)`,
    });
  }
  const type = typeof old === 'string' ? SOLVER_TYPES[old] : undefined;
  if (type === undefined) {
    throw upgradeError(`Unknown SolverParameter solver_type: ${old}`, {
      where: { path: 'solver_type' },
      hint: `the old solver types are ${Object.keys(SOLVER_TYPES).join(', ')}`,
    });
  }
  const out: Message = { ...solver, type };
  delete out.solver_type;
  return { solver: out, changes: [`solver_type: ${old} -> type: "${type}"`] };
}
