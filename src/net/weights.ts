// Trained weights onto a net, as Caffe's Net::CopyTrainedLayersFrom does it: by layer name, the blob count
// and every shape checked (legacy num/channels/height/width shapes accepted as Caffe accepts them).
import { CaffeToolError } from '../errors.js';
import { blobData, blobShape } from '../io/blob.js';
import type { Message } from '../io/message.js';
import { count, formatShape } from '../layers/shape.js';
import type { Shape } from '../layers/types.js';
import type { Net, NetLayer } from './net.js';

export interface WeightsReport {
  /** Net layers that received blobs from the file. */
  copied: string[];
  /** Layers of the file the net does not have (Caffe ignores them too). */
  ignored: string[];
  /** Net layers with learned blobs that the file does not have (they keep their fillers). */
  missing: string[];
}

/** Caffe's Blob::ShapeEquals(BlobProto): legacy 4-D dims compare against the shape padded with 1s in front. */
export function shapeMatches(expected: Shape, blob: Message): boolean {
  const legacy = ['num', 'channels', 'height', 'width'];
  if (legacy.some((k) => blob[k] !== undefined)) {
    if (expected.length > 4) return false;
    const padded = [...Array(4 - expected.length).fill(1), ...expected];
    return legacy.every((k, i) => ((blob[k] as number | undefined) ?? 0) === padded[i]);
  }
  const actual = blobShape(blob);
  return actual.length === expected.length && actual.every((d, i) => d === expected[i]);
}

function describeBlob(blob: Message): string {
  const shape = blobShape(blob);
  const legacy = blob.shape === undefined && shape.length ? ' (legacy num/channels/height/width)' : '';
  return `${formatShape(shape)}${legacy}`;
}

/**
 * Attach the blobs of `weights` (a NetParameter) to the layers of `net` with the same names. Every mismatch
 * is collected and reported together, each with the layer, the blob index and both shapes.
 */
export function attachWeights(net: Net, weights: Message, file?: string): WeightsReport {
  if (((weights.layers as Message[] | undefined) ?? []).length) {
    throw new CaffeToolError('these weights are in the old V0/V1 format (layers { ... }): upgrade them first', {
      where: { file },
      hint: 'loadWeights() upgrades in memory; caffe-tool upgrade IN OUT writes the upgraded file',
    });
  }
  const byName = new Map<string, NetLayer>(net.layers.map((l) => [l.name, l]));
  const report: WeightsReport = { copied: [], ignored: [], missing: [] };
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const source of (weights.layer as Message[] | undefined) ?? []) {
    const name = (source.name as string | undefined) ?? '';
    const target = byName.get(name);
    if (!target) {
      report.ignored.push(name);
      continue;
    }
    seen.add(name);
    const blobs = (source.blobs as Message[] | undefined) ?? [];
    const expected = target.learned;
    if (!expected) {
      if (blobs.length) problems.push(`layer '${name}': its input shape is unknown, so its ${blobs.length} blobs cannot be checked`);
      continue;
    }
    if (expected.length !== blobs.length) {
      problems.push(`layer '${name}' (${target.type}): the file has ${blobs.length} blobs, the net expects ${expected.length} (${expected.map((b) => `${b.role} ${formatShape(b.shape)}`).join(', ') || 'none'})`);
      continue;
    }
    let ok = true;
    blobs.forEach((b, i) => {
      if (!shapeMatches(expected[i].shape, b)) {
        ok = false;
        problems.push(`layer '${name}' blob ${i} (${expected[i].role}): the file has ${describeBlob(b)}, the net expects ${formatShape(expected[i].shape)}`);
      } else if (blobData(b).length !== count(expected[i].shape)) {
        ok = false;
        problems.push(`layer '${name}' blob ${i} (${expected[i].role}): its shape is ${describeBlob(b)} but it holds ${blobData(b).length} values`);
      }
    });
    if (ok && blobs.length) {
      target.weights = blobs;
      report.copied.push(name);
    }
  }
  for (const l of net.layers) if (l.learned?.length && !seen.has(l.name)) report.missing.push(l.name);
  if (problems.length) {
    throw new CaffeToolError(`the weights do not fit the net:\n  ${problems.join('\n  ')}`, {
      where: { file },
      hint: 'to learn a layer from scratch instead of copying it (a new num_output when fine-tuning), rename the layer in the net',
    });
  }
  return report;
}

export interface ValueIssue {
  layer: string;
  severity: 'error' | 'warning';
  message: string;
}

/** Look at the attached values: NaN/Inf, BatchNorm statistics that cannot be right, all-zero layers. */
export function lintWeights(net: Net): ValueIssue[] {
  const issues: ValueIssue[] = [];
  for (const l of net.layers) {
    const blobs = l.weights;
    if (!blobs || !l.learned) continue;
    let allZero = l.learned.some((b) => b.role === 'weight');
    blobs.forEach((b, i) => {
      const data = blobData(b);
      const { nan, inf, nonzero } = scanValues(data);
      const role = l.learned![i].role;
      if (nan || inf) issues.push({ layer: l.name, severity: 'error', message: `blob ${i} (${role}) has ${nan} NaN and ${inf} infinite values of ${data.length}` });
      if (role === 'weight' && nonzero) allZero = false;
      if (l.type === 'BatchNorm' && role === 'scale_factor' && data.length && data[0] === 0) {
        issues.push({ layer: l.name, severity: 'warning', message: 'scale factor is 0: the stored mean and variance count as zero (the layer divides by sqrt(eps))' });
      }
      if (role === 'variance') {
        let negative = 0;
        for (let k = 0; k < data.length; k++) if (data[k] < 0) negative++;
        if (negative) issues.push({ layer: l.name, severity: 'error', message: `variance is negative in ${negative} of ${data.length} channels` });
      }
    });
    if (allZero) issues.push({ layer: l.name, severity: 'warning', message: 'every weight is zero: the layer outputs only its bias' });
  }
  return issues;
}

/** Count NaN and infinite values and see whether any value is nonzero, on the bits (one pass, no branches per value). */
function scanValues(data: Float32Array): { nan: number; inf: number; nonzero: boolean } {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let special = 0;
  let any = 0;
  for (let k = 0; k < bits.length; k++) {
    const x = bits[k] & 0x7fffffff;
    any |= x;
    if (x >= 0x7f800000) special++;
  }
  let inf = 0;
  if (special) for (let k = 0; k < bits.length; k++) if ((bits[k] & 0x7fffffff) === 0x7f800000) inf++;
  return { nan: special - inf, inf, nonzero: any !== 0 };
}

/**
 * Give every learned layer without weights random ones (a fixed seed), so a net can be timed or checked
 * without a .caffemodel, as `caffe time` does with its fillers. Values keep activations in range: weights
 * uniform in +-1/sqrt(fan-in), variances and scales near 1, scale factors 1.
 */
export function fillRandomWeights(net: Net, seed = 1): string[] {
  const next = seededUniform(seed);
  const filled: string[] = [];
  for (const l of net.layers) {
    if (l.weights || !l.learned?.length) continue;
    l.weights = l.learned.map((spec) => {
      const n = count(spec.shape);
      const fanIn = spec.shape.length > 1 ? n / spec.shape[0] : 1;
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const u = next() * 2 - 1;
        data[i] = spec.role === 'variance' ? 1 + 0.5 * Math.abs(u)
          : spec.role === 'scale_factor' ? 1
            : spec.role === 'scale' ? 1 + 0.1 * u
              : spec.role === 'weight' ? u / Math.sqrt(fanIn)
                : 0.1 * u;
      }
      return { shape: { dim: spec.shape }, data };
    });
    filled.push(l.name);
  }
  return filled;
}

/** Uniform numbers in [0, 1) from a 32-bit xorshift seeded with `seed`: the same sequence everywhere. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}
