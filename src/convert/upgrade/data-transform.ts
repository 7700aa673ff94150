// Data transformation (Caffe's NetNeedsDataUpgrade / UpgradeNetDataTransformation): V1 DATA, IMAGE_DATA and
// WINDOW_DATA layers that keep scale / mean_file / crop_size / mirror in their own parameter have them moved
// into transform_param. As in Caffe, once the upgrade runs every layer of those types ends up with both its
// parameter message and a transform_param (possibly empty: Caffe's mutable_ accessors create them).
import type { Message } from '../../io/message.js';
import { items, layerLabel, list, show, type StepResult } from './common.js';

/** V1 type -> the parameter message that used to hold the transformation fields. */
const DATA_LAYERS: Readonly<Record<string, string>> = {
  DATA: 'data_param',
  IMAGE_DATA: 'image_data_param',
  WINDOW_DATA: 'window_data_param',
};

/** In Caffe's order (the macro moves them in this order). */
const FIELDS = ['scale', 'mean_file', 'crop_size', 'mirror'] as const;

export function netNeedsDataUpgrade(net: Message): boolean {
  for (const layer of list<Message>(net, 'layers')) {
    const param = DATA_LAYERS[layer.type as string];
    if (!param) continue;
    const p = layer[param] as Message | undefined;
    if (p && FIELDS.some((f) => p[f] !== undefined)) return true;
  }
  return false;
}

export function upgradeNetDataTransformation(net: Message): StepResult {
  const changes: string[] = [];
  const layers = items<Message>(net, 'layers');
  const out: Message[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const paramName = DATA_LAYERS[layer.type as string];
    if (!paramName) {
      out.push(layer);
      continue;
    }
    const param: Message = { ...((layer[paramName] as Message | undefined) ?? {}) };
    const transform: Message = { ...((layer.transform_param as Message | undefined) ?? {}) };
    const moved: string[] = [];
    for (const f of FIELDS) {
      if (param[f] === undefined) continue;
      transform[f] = param[f];
      delete param[f];
      moved.push(`${paramName}.${f} -> transform_param.${f} (${show(transform[f])})`);
    }
    out.push({ ...layer, [paramName]: param, transform_param: transform });
    if (moved.length) changes.push(`layer ${layerLabel(layer, i)}: ${moved.join('; ')}`);
  }
  return { net: { ...net, layers: out }, changes, warnings: [] };
}
