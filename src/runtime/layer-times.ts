// Per-layer times from ONNX Runtime's profile, as `caffe time` prints them ("Average time per layer"): every node
// is named after its layer (`conv1`, `conv1_dx`, ...), so its kernel time goes to the longest layer name its own
// name starts with; a node of the training graph's backward part counts as that layer's backward. Nodes ONNX
// Runtime made itself (layout reorders) belong to no layer.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type ort from 'onnxruntime-node';

export interface LayerTime {
  layer: string;
  forwardMs: number;
  /** Only where the graph has a backward part. */
  backwardMs?: number;
}

export interface LayerTimes {
  layers: LayerTime[];
  /** Kernel time of nodes no layer owns, per run. */
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
  let best: string | undefined;
  for (const l of layers) if ((node === l || node.startsWith(`${l}_`)) && l.length > (best?.length ?? -1)) best = l;
  return best;
}

/** A folder for a session's profile (`profileFilePrefix`); readProfile reads and removes it. */
export function profileFolder(): string {
  return mkdtempSync(join(tmpdir(), 'caffe-tool-profile-'));
}

/** End the session's profiling and read its events. */
export function readProfile(session: ort.InferenceSession, folder: string): ProfileEvent[] {
  session.endProfiling();
  try {
    const file = readdirSync(folder).find((f) => f.endsWith('.json'));
    return file ? (JSON.parse(readFileSync(join(folder, file), 'utf8')) as ProfileEvent[]) : [];
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The average kernel time per run of each layer over the last `runs` runs of the profile (earlier ones were the
 * warm-up). `forward`: the names of the forward part's nodes, where the graph also has a backward.
 */
export function layerTimes(events: ProfileEvent[], layers: readonly string[], runs: number, forward?: ReadonlySet<string>): LayerTimes {
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  const from = starts.length >= runs ? starts[starts.length - runs] : -Infinity;
  const totals = new Map(layers.map((l) => [l, { forward: 0, backward: 0 }]));
  let other = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    // ONNX Runtime's fusions keep the first node's name before a '/'.
    const node = e.name.slice(0, -'_kernel_time'.length).split('/')[0];
    const layer = layerOfNode(layers, node);
    const ms = e.dur / 1000 / runs;
    if (!layer) other += ms;
    else if (!forward || forward.has(node)) totals.get(layer)!.forward += ms;
    else totals.get(layer)!.backward += ms;
  }
  return {
    layers: layers.map((l) => ({ layer: l, forwardMs: totals.get(l)!.forward, ...(forward ? { backwardMs: totals.get(l)!.backward } : {}) })),
    otherMs: other,
  };
}
