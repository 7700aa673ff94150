// Which layers a net has in a given state: Caffe's NetState rules (include/exclude on phase, level, stages).
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';

export interface NetState {
  phase: 'TRAIN' | 'TEST';
  level: number;
  stages: string[];
}

/** Caffe's Net::StateMeetsRule. */
export function stateMeetsRule(state: NetState, rule: Message): boolean {
  if (rule.phase !== undefined && rule.phase !== state.phase) return false;
  if (rule.min_level !== undefined && state.level < (rule.min_level as number)) return false;
  if (rule.max_level !== undefined && state.level > (rule.max_level as number)) return false;
  for (const s of (rule.stage as string[] | undefined) ?? []) if (!state.stages.includes(s)) return false;
  for (const s of (rule.not_stage as string[] | undefined) ?? []) if (state.stages.includes(s)) return false;
  return true;
}

/** Caffe's Net::FilterNet for one layer: any include rule met, or (with none) no exclude rule met. */
export function layerIncluded(state: NetState, layer: Message): boolean {
  const include = (layer.include as Message[] | undefined) ?? [];
  const exclude = (layer.exclude as Message[] | undefined) ?? [];
  if (include.length && exclude.length) {
    throw new CaffeToolError(`layer '${String(layer.name ?? '')}' has both include and exclude rules`, {
      where: { layer: String(layer.name ?? '') }, hint: 'Caffe refuses this too (Net::FilterNet): keep one kind of rule',
    });
  }
  if (include.length) return include.some((r) => stateMeetsRule(state, r));
  return !exclude.some((r) => stateMeetsRule(state, r));
}
