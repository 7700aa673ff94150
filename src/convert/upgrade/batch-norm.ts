// Old-style BatchNorm (Caffe's NetNeedsBatchNormUpgrade / UpgradeNetBatchNorm): a BatchNorm layer with
// exactly three `param { }` specs was how one used to freeze its statistics by hand. Current Caffe keeps the
// specs (names, share modes) but forces lr_mult and decay_mult to 0: the statistics are not learned, and the
// layer refuses a nonzero lr_mult ("Cannot configure batch normalization statistics as layer parameters").
import type { Message } from '../../io/message.js';
import { items, layerLabel, list, type StepResult } from './common.js';

function isOldBatchNorm(layer: Message): boolean {
  return layer.type === 'BatchNorm' && items(layer, 'param').length === 3;
}

export function netNeedsBatchNormUpgrade(net: Message): boolean {
  return list<Message>(net, 'layer').some(isOldBatchNorm);
}

export function upgradeNetBatchNorm(net: Message): StepResult {
  const changes: string[] = [];
  const layers = items<Message>(net, 'layer');
  const out: Message[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    if (!isOldBatchNorm(layer)) {
      out.push(layer);
      continue;
    }
    const before = items<Message>(layer, 'param');
    const specs = Array.from(before, (p) => ({ ...p, lr_mult: 0, decay_mult: 0 }));
    const changed = Array.from(before).some((p) => p.lr_mult !== 0 || p.decay_mult !== 0);
    out.push(changed ? { ...layer, param: specs } : layer);
    if (changed) {
      const was = Array.from(before, (p) => `{${['lr_mult', 'decay_mult'].filter((f) => p[f] !== undefined).map((f) => `${f}: ${p[f]}`).join(' ')}}`);
      changes.push(`layer ${layerLabel(layer, i, 'layer')}: BatchNorm param ${was.join(' ')} -> lr_mult 0, decay_mult 0 for all three (its statistics are not learned)`);
    }
  }
  return { net: { ...net, layer: out }, changes, warnings: [] };
}
