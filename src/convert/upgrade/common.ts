// What the upgrade steps share: the result of one step, and small readers for the plain-object messages.
// Every step is a pure function: it never changes its input, it builds new objects where something changes
// and shares everything else (blobs and their typed arrays above all: weights are never copied).
import { CaffeToolError, type Where } from '../../errors.js';
import type { Message } from '../../io/message.js';

/** What one upgrade step made of a net (or a solver). */
export interface StepResult {
  net: Message;
  /** One human line per change, in the order Caffe makes them. */
  changes: string[];
  /** Caffe's "not fully compatible" problems: something was dropped or could not be placed. */
  warnings: string[];
}

/** A repeated field as an array-like (absent: empty). Repeated floats are Float32Arrays. */
export function items<T = unknown>(m: Message, field: string): ArrayLike<T> {
  return (m[field] as ArrayLike<T> | undefined) ?? [];
}

/** A repeated field as a plain array (a copy for typed arrays, the same array otherwise). */
export function list<T = unknown>(m: Message, field: string): T[] {
  const v = m[field];
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as T[]) : Array.from(v as ArrayLike<T>);
}

export function count(m: Message, field: string): number {
  return items(m, field).length;
}

export function has(m: Message, field: string): boolean {
  const v = m[field];
  if (v === undefined || v === null) return false;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return (v as ArrayLike<unknown>).length > 0;
  return true;
}

/** A present sub-message, or undefined. */
export function sub(m: Message, field: string): Message | undefined {
  return m[field] as Message | undefined;
}

/** How a layer is named in messages: its name, else its place. */
export function layerLabel(layer: Message, index: number, list = 'layers'): string {
  const name = layer.name;
  return typeof name === 'string' && name !== '' ? name : `${list}[${index}]`;
}

export function where(layer: Message, index: number, list = 'layers'): Where {
  const name = layer.name;
  return typeof name === 'string' && name !== '' ? { layer: name } : { path: `${list}[${index}]` };
}

/** A value as it reads in a change line: strings quoted, arrays joined. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>).map(show).join(', ');
  return String(v);
}

/** Field names of a message other than `known`, that are present (for "dropped" warnings). */
export function otherFields(m: Message, known: ReadonlySet<string>): string[] {
  return Object.keys(m).filter((k) => !known.has(k) && has(m, k));
}

export function upgradeError(message: string, opts: { where?: Where; hint?: string } = {}): CaffeToolError {
  return new CaffeToolError(message, opts);
}
