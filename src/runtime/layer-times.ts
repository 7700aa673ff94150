// Per-layer times from ONNX Runtime's profile, as `caffe time` prints them ("Average time per layer"): every node
// is named after its layer (`conv1`, `conv1_dx`, ...), so its kernel time goes to the longest layer name its own
// name starts with; a node of the training graph's backward part counts as that layer's backward. Nodes ONNX
// Runtime made itself (layout reorders) belong to no layer. A kernel time includes ONNX Runtime's own work around
// the node (shapes, allocation): some microseconds, which small layers show most.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type ort from 'onnxruntime-node';
import { type ModelSpec, openModel } from './model.js';
import { runSession } from './session.js';

export interface LayerTime {
  layer: string;
  forwardMs: number;
  /** Only where the graph has a backward part. */
  backwardMs?: number;
}

export interface LayerTimes {
  layers: LayerTime[];
  /** Kernel time of nodes no layer's name is on (ONNX Runtime's own layout reorders, say), per run. */
  otherMs: number;
}

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
}

/** The layer whose node this is: the longest layer name that the node's name is, or starts with followed by '_'. */
export function layerOfNode(layers: readonly string[], node: string): string | undefined {
  const base = graphName(node);
  let best: string | undefined;
  for (const l of layers) if ((base === l || base.startsWith(`${l}_`)) && l.length > (best?.length ?? -1)) best = l;
  return best;
}

/** ONNX Runtime's name for a node it rewrote, back to the graph's: "fused ip1_1" and "x/MatmulTransposeFusion/" are ip1_1 and x. */
function graphName(node: string): string {
  return node.replace(/^fused /, '').split('/')[0];
}

/** The runs a per-layer table profiles (after one more to warm up): ONNX Runtime keeps at most 1M events. */
export const PROFILED_RUNS = 20;

/** Run `work` with a fresh folder for sessions' profiles (`profileFilePrefix`), removed afterwards. */
export async function withProfileFolder<T>(work: (folder: string) => Promise<T>): Promise<T> {
  const folder = mkdtempSync(join(tmpdir(), 'caffe-tool-profile-'));
  try {
    return await work(folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The forward's per-layer table of the model `spec` opens, fed `feeds`: profiling slows every node down, so it comes
 * from a session of its own (after the timed one), PROFILED_RUNS runs after one to warm up.
 */
export async function forwardLayerTimes(spec: ModelSpec, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<LayerTimes> {
  return withProfileFolder(async (profile) => {
    const profiled = await openModel({ ...spec, profile, notice: () => {} });
    try {
      for (let i = 0; i <= PROFILED_RUNS; i++) await runSession(profiled.session, feeds);
      return layerTimes(readProfile(profiled.session, profile), profiled.layers ?? [], PROFILED_RUNS);
    } finally {
      await profiled.session.release();
    }
  });
}

/**
 * End the session's profiling and read its events: the file of the folder's with runs in it (a session that failed
 * to start may have left one too), a line at a time (ONNX Runtime writes one event a line; a whole big profile
 * would not fit in one string).
 */
export function readProfile(session: ort.InferenceSession, folder: string): ProfileEvent[] {
  session.endProfiling();
  let best: ProfileEvent[] = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.json'))) {
    const events: ProfileEvent[] = [];
    const bytes = readFileSync(join(folder, file));
    for (let start = 0; start < bytes.length;) {
      let end = bytes.indexOf(10, start);
      if (end < 0) end = bytes.length;
      const line = bytes.toString('utf8', start, end).trim().replace(/^\[/, '').replace(/[,\]]+$/, '');
      start = end + 1;
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as ProfileEvent;
      events.push({ cat: e.cat, name: e.name, ts: e.ts, dur: e.dur });
    }
    if (events.some((e) => e.name === 'model_run') && events.length > best.length) best = events;
  }
  return best;
}

/**
 * The average kernel time per run of each layer over the last `runs` runs of the profile (earlier ones were the
 * warm-up). `forward`: the names of the forward part's nodes, where the graph also has a backward.
 */
export function layerTimes(events: ProfileEvent[], layers: readonly string[], runs: number, parts?: { forward: ReadonlySet<string>; all: readonly string[] }): LayerTimes {
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  const from = starts.length >= runs ? starts[starts.length - runs] : -Infinity;
  const totals = new Map(layers.map((l) => [l, { forward: 0, backward: 0 }]));
  let other = 0;
  // A node ONNX Runtime made out of the graph's keeps that node's name as its start ("pool_mean" -> "pool_mean_out_nchwc").
  const inForward = new Map<string, boolean>();
  const forwardNode = (node: string) => {
    let known = inForward.get(node);
    if (known === undefined) {
      const origin = parts!.all.reduce<string | undefined>((best, n) => (node.startsWith(n) && n.length > (best?.length ?? -1) ? n : best), undefined);
      known = origin !== undefined && parts!.forward.has(origin);
      inForward.set(node, known);
    }
    return known;
  };
  // Every run repeats the same nodes: each is looked up once.
  const owners = new Map<string, string | undefined>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    const node = graphName(e.name.slice(0, -'_kernel_time'.length));
    if (!owners.has(node)) owners.set(node, layerOfNode(layers, node));
    const layer = owners.get(node);
    const ms = e.dur / 1000 / runs;
    if (!layer) other += ms;
    else if (!parts || forwardNode(node)) totals.get(layer)!.forward += ms;
    else totals.get(layer)!.backward += ms;
  }
  return {
    layers: layers.map((l) => ({ layer: l, forwardMs: totals.get(l)!.forward, ...(parts ? { backwardMs: totals.get(l)!.backward } : {}) })),
    otherMs: other,
  };
}
