// A net as a table: per layer its blobs, output shapes, learned parameter count and MACs; and the totals.
import { count } from '../layers/shape.js';
import type { Shape } from '../layers/types.js';
import type { Net } from './net.js';

export interface LayerRow {
  name: string;
  type: string;
  bottoms: string[];
  tops: string[];
  /** The shape of each top; null where it cannot be known. */
  shapes: (Shape | null)[];
  /** Learned parameters (values in all learned blobs); null while unknown. */
  params: number | null;
  macs: number | null;
  note?: string;
}

export interface NetSummary {
  name: string;
  phase: string;
  dialect: string;
  inputs: Record<string, Shape | null>;
  outputs: string[];
  layers: LayerRow[];
  /** Every blob name with its last shape (after in-place layers). */
  blobs: Record<string, Shape | null>;
  totals: { params: number; macs: number; complete: boolean };
}

export function summarize(net: Net): NetSummary {
  let params = 0;
  let macs = 0;
  let complete = true;
  const layers = net.layers.map((l): LayerRow => {
    const p = l.learned ? l.learned.reduce((sum, b) => sum + count(b.shape), 0) : null;
    if (p === null || l.macs === undefined) complete = false;
    params += p ?? 0;
    macs += l.macs ?? 0;
    return {
      name: l.name,
      type: l.type,
      bottoms: l.bottoms.map((b) => b.name),
      tops: l.tops.map((t) => t.name),
      shapes: l.tops.map((t) => t.shape ?? null),
      params: p,
      macs: l.macs ?? null,
      ...(l.unknown ? { note: l.unknown } : {}),
    };
  });
  const blobs: Record<string, Shape | null> = {};
  for (const [name, b] of net.blobs()) blobs[name] = b.shape ?? null;
  const inputs: Record<string, Shape | null> = {};
  for (const b of net.inputs()) inputs[b.name] = b.shape ?? null;
  return {
    name: net.name, phase: net.state.phase, dialect: net.dialect, inputs,
    outputs: net.outputs().map((b) => b.name), layers, blobs, totals: { params, macs, complete },
  };
}
