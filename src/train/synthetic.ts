// A batch for a net's data tops without reading its data: values in [-1, 1), and labels (the tops that loss and
// accuracy layers read as their second input) spread over the classes, (i * 7919) mod C with C the scores' axis 1,
// so that training does not collapse onto one class (whose vanishing gradients would time denormals, not the net).
// For `time --backward` and benches.
import { count } from '../layers/shape.js';
import type { Net } from '../net/net.js';
import { seededUniform } from '../net/weights.js';

export function syntheticBatch(net: Net, seed = 1): Record<string, Float32Array> {
  const next = seededUniform(seed);
  const classes = new Map<string, number>();
  for (const l of net.layers) {
    if ((l.def.loss || l.def.trainingOnly) && l.bottoms[1]) classes.set(l.bottoms[1].name, l.bottoms[0].shape?.[1] ?? 1);
  }
  const batch: Record<string, Float32Array> = {};
  for (const b of net.blobVersions) {
    const fromData = b.producer === -1 || net.layers[b.producer].def.source;
    if (!fromData || !b.shape || b.name in batch) continue;
    const data = new Float32Array(count(b.shape));
    const c = classes.get(b.name);
    for (let i = 0; i < data.length; i++) data[i] = c === undefined ? next() * 2 - 1 : (i * 7919) % c;
    batch[b.name] = data;
  }
  return batch;
}
