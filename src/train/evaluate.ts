// `caffe test`: the TEST-phase net with trained weights, `iterations` batches from its own data layers, every
// output averaged (Caffe prints loss outputs with their loss_weight), and for segmentation nets the confusion of
// the arg-max class with the label: per-class IoU and their mean.
import type { Net, NetLayer } from '../net/net.js';
import type { Device } from '../runtime/session.js';
import { TrainingEngine } from './engine.js';
import { initialValues, readWeights } from './init.js';
import { netParams } from './params.js';
import type { NetSource } from './solver-file.js';
import { TestScores } from './test-scores.js';
import { DataNet } from './solve.js';
import { MatWriter } from './mat-write.js';

export interface EvaluateOptions {
  weights: string;
  iterations: number;
  device?: Device;
  baseDir: string;
  seed?: number;
  /** Each batch's outputs, as `caffe test` logs them (`Batch 0, accuracy = 0.98`). */
  onBatch?: (i: number, outputs: Map<string, Float32Array>) => void;
  notice?: (message: string) => void;
}

export interface SegmentationScore {
  /** The scores blob and the label blob compared. */
  scores: string;
  label: string;
  /** Per class: intersection over union, or null for a class in neither the labels nor the predictions. */
  iou: (number | null)[];
  meanIou: number;
  pixelAccuracy: number;
}

export interface Evaluation {
  /** Each output blob averaged over the batches (arrays for outputs with several values). */
  outputs: Map<string, Float32Array>;
  lossWeights: Map<string, number>;
  /** The mean total loss: each batch's Net::Forward loss (loss_weight x every loss top), averaged in float. */
  loss: number;
  segmentation?: SegmentationScore;
}

export async function evaluate(source: NetSource, opts: EvaluateOptions): Promise<Evaluation> {
  const data = await DataNet.open({ ...source, phase: 'TEST' }, opts.baseDir, opts.seed ?? 1);
  let engine: TrainingEngine | undefined;
  try {
    const net = data.net;
    const report = (await readWeights(opts.weights))(net);
    const values = initialValues(net, netParams(net).owned, opts.seed ?? 1);
    // Net::CopyTrainedLayersFrom leaves a layer the weights do not name as its fillers made it.
    if (report.missing.length) opts.notice?.(`${opts.weights} has no blobs for ${report.missing.join(', ')}: they keep their fillers, as in Caffe`);
    const seg = segmentationPair(net);
    const writers = MatWriter.forNet(net, opts.baseDir);
    const expose = [...(seg ? [net.blobs().get(seg.scores)!] : []), ...writers.flatMap((w) => w.bottoms)];
    engine = await TrainingEngine.create(net, { device: opts.device, backward: 'none', values, expose: expose.length ? expose : undefined });
    const scores = new TestScores(engine);
    let classes = 0;
    let confusion: Float64Array | undefined;
    for (let i = 0; i < opts.iterations; i++) {
      const batch = await data.next();
      const r = await engine.step(batch);
      scores.add(r);
      for (const w of writers) w.writeStep(r.exposed, batch);
      opts.onBatch?.(i, r.outputs);
      if (seg) {
        const blob = [...r.exposed.entries()].find(([b]) => b.name === seg.scores)!;
        const shape = blob[0].shape!;
        classes = shape[1];
        confusion ??= new Float64Array(classes * classes);
        accumulate(confusion, blob[1], batch[seg.label], shape, seg.ignore);
      }
    }
    const outputs = scores.means(opts.iterations);
    const lossWeights = new Map([...outputs.keys()].map((name) => [name, engine!.graph.outputs.get(name)?.lossWeight ?? 0]));
    return { outputs, lossWeights, loss: scores.meanLoss(opts.iterations), segmentation: seg && confusion ? score(seg, confusion, classes) : undefined };
  } finally {
    await engine?.release();
    await data.close();
  }
}

/** A loss or accuracy layer comparing per-pixel scores N,C,H,W (H*W > 1) with a label from a data layer. */
function segmentationPair(net: Net): { scores: string; label: string; ignore: number | undefined } | undefined {
  for (const l of net.layers) {
    if (!['SoftmaxWithLoss', 'Accuracy', 'SegAccuracy'].includes(l.type) || l.bottoms.length < 2) continue;
    const [scores, label] = l.bottoms;
    const s = scores.shape;
    if (!s || s.length !== 4 || s[2] * s[3] <= 1) continue;
    if (!isDataTop(net, label.producer)) continue;
    return { scores: scores.name, label: label.name, ignore: ignoreLabel(net, l) };
  }
  return undefined;
}

const isDataTop = (net: Net, producer: number) => producer === -1 || net.layers[producer].def.source === true;

function ignoreLabel(net: Net, l: NetLayer): number | undefined {
  const p = net.params(l, l.type === 'Accuracy' ? 'accuracy_param' : 'loss_param');
  return p.has('ignore_label') ? p.num('ignore_label') : undefined;
}

function accumulate(confusion: Float64Array, scores: Float32Array, label: Float32Array, shape: number[], ignore: number | undefined): void {
  const [n, c, h, w] = shape;
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      const truth = Math.round(label[i * plane + p]);
      if (truth === ignore || truth < 0 || truth >= c) continue;
      let best = 0;
      let bestScore = -Infinity;
      for (let k = 0; k < c; k++) {
        const v = scores[(i * c + k) * plane + p];
        if (v > bestScore) [best, bestScore] = [k, v];
      }
      confusion[truth * c + best]++;
    }
  }
}

function score(seg: { scores: string; label: string }, confusion: Float64Array, c: number): SegmentationScore {
  const iou: (number | null)[] = [];
  let correct = 0;
  let total = 0;
  for (let k = 0; k < c; k++) {
    let row = 0;
    let col = 0;
    for (let j = 0; j < c; j++) {
      row += confusion[k * c + j];
      col += confusion[j * c + k];
    }
    const tp = confusion[k * c + k];
    const union = row + col - tp;
    iou.push(union ? tp / union : null);
    correct += tp;
    total += row;
  }
  const present = iou.filter((x): x is number => x !== null);
  return { scores: seg.scores, label: seg.label, iou, meanIou: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0, pixelAccuracy: total ? correct / total : 0 };
}
