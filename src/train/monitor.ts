// --monitor: training health per display window. For every ReLU output: the fraction of its units (channels, or
// neurons of an InnerProduct) that were never positive during the window, and the activations' RMS; for every
// learned weight: its norm and the gradient-to-weight ratio. Warnings name the layer when all its units die, when
// the death spreads to an earlier layer (late layers die first, then it moves backwards: a known way a Caffe
// training fails halfway), and when a weight collapses towards zero.
import type { Net, NetBlob } from '../net/net.js';
import type { OwnedParam } from './params.js';

export interface LayerHealth {
  layer: string;
  /** Units never positive over the window, as a fraction. */
  dead: number;
  rms: number;
}

export interface WeightHealth {
  param: string;
  norm: number;
  /** ||gradient|| / ||weight|| at the last iteration of the window. */
  gradRatio: number;
}

export interface HealthReport {
  layers: LayerHealth[];
  weights: WeightHealth[];
  warnings: string[];
}

/** The blobs --monitor watches: each ReLU's output (its last version when in place). */
export function watchedBlobs(net: Net): { layer: string; blob: NetBlob }[] {
  return net.layers.filter((l) => l.type === 'ReLU').map((l) => ({ layer: l.name, blob: l.tops[0] }));
}

export class Monitor {
  private alive = new Map<string, Uint8Array>();
  private sumsq = new Map<string, number>();
  private counts = new Map<string, number>();
  private readonly firstNorm = new Map<string, number>();
  private lastDead = new Map<string, number>();
  private lastGrads = new Map<OwnedParam, Float32Array>();

  constructor(private readonly watched: { layer: string; blob: NetBlob }[]) {}

  /** One iteration's activations (by blob version) and gradients. */
  observe(exposed: Map<NetBlob, Float32Array>, grads: Map<OwnedParam, Float32Array>): void {
    for (const { layer, blob } of this.watched) {
      const v = exposed.get(blob);
      if (!v || !blob.shape) continue;
      const [n, c] = [blob.shape[0], blob.shape.length > 1 ? blob.shape[1] : 1];
      const inner = v.length / (n * c);
      const alive = this.alive.get(layer) ?? new Uint8Array(c);
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < c; k++) {
          const base = (i * c + k) * inner;
          for (let j = 0; j < inner; j++) {
            const x = v[base + j];
            s += x * x;
            if (x > 0) alive[k] = 1;
          }
        }
      }
      this.alive.set(layer, alive);
      this.sumsq.set(layer, (this.sumsq.get(layer) ?? 0) + s);
      this.counts.set(layer, (this.counts.get(layer) ?? 0) + v.length);
    }
    this.lastGrads = grads;
  }

  /** Close the window: the report, and the state for the next window. */
  report(values: Map<OwnedParam, Float32Array>): HealthReport {
    const warnings: string[] = [];
    const layers: LayerHealth[] = this.watched.map(({ layer }) => {
      const alive = this.alive.get(layer);
      const dead = alive ? alive.reduce((d, a) => d + (a ? 0 : 1), 0) / alive.length : 0;
      return { layer, dead, rms: Math.sqrt((this.sumsq.get(layer) ?? 0) / Math.max(1, this.counts.get(layer) ?? 0)) };
    });
    layers.forEach((h, i) => {
      const before = this.lastDead.get(h.layer) ?? 0;
      if (h.dead === 1 && before < 1) warnings.push(`layer '${h.layer}': all its units output 0 over the last window (dead ReLU)`);
      // Spreading backwards: an earlier layer loses units after a later one has died.
      const laterDead = layers.slice(i + 1).find((l) => l.dead === 1 && (this.lastDead.get(l.layer) ?? 0) === 1);
      if (laterDead && h.dead >= before + 0.25 && h.dead < 1) {
        warnings.push(`layer '${h.layer}': ${(h.dead * 100).toFixed(0)}% of its units are dead now (${(before * 100).toFixed(0)}% before), after '${laterDead.layer}' died: the death is spreading to earlier layers`);
      }
    });
    const weights: WeightHealth[] = [];
    for (const [p, v] of values) {
      if (p.lrMult === 0 || p.role !== 'weight') continue;
      const norm = l2(v);
      const g = this.lastGrads.get(p);
      weights.push({ param: p.key, norm, gradRatio: g && norm ? l2(g) / norm : 0 });
      const first = this.firstNorm.get(p.key);
      if (first === undefined) this.firstNorm.set(p.key, norm);
      else if (norm < first * 1e-3) warnings.push(`layer '${p.layer.name}': its weights collapsed (norm ${norm.toExponential(2)}, was ${first.toExponential(2)})`);
    }
    for (const h of layers) this.lastDead.set(h.layer, h.dead);
    this.alive = new Map();
    this.sumsq = new Map();
    this.counts = new Map();
    return { layers, weights, warnings };
  }
}

function l2(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}
