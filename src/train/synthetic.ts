// A batch for a net's data tops without reading its data: values in [-1, 1), and labels (the tops that loss and
// accuracy layers read as their second input) all 0, a class every classifier has. For `time --backward` and benches.
import { count } from '../layers/shape.js';
import type { Net } from '../net/net.js';
import { seededUniform } from '../net/weights.js';

export function syntheticBatch(net: Net, seed = 1): Record<string, Float32Array> {
  const next = seededUniform(seed);
  const labels = new Set<string>();
  for (const l of net.layers) if ((l.def.loss || l.def.trainingOnly) && l.bottoms[1]) labels.add(l.bottoms[1].name);
  const batch: Record<string, Float32Array> = {};
  for (const b of net.blobVersions) {
    const fromData = b.producer === -1 || net.layers[b.producer].def.source;
    if (!fromData || !b.shape || b.name in batch) continue;
    const data = new Float32Array(count(b.shape));
    if (!labels.has(b.name)) for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
    batch[b.name] = data;
  }
  return batch;
}
