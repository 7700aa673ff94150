// The layer registry: every layer type caffe-tool knows, one file each. To add a type, write
// src/layers/<type>.ts exporting its LayerDef and list it here.
import { CaffeToolError, closestNames } from '../errors.js';
import type { LayerDef } from './types.js';
// vision
import { convolution } from './convolution.js';
import { innerProduct } from './inner-product.js';
import { pooling } from './pooling.js';
// activations and element-wise
import { relu } from './relu.js';
// data
import { input } from './input.js';
// shape and routing
// normalization and scaling
// losses and metrics
// recurrent
// forks

const ALL: LayerDef[] = [
  // vision
  convolution, innerProduct, pooling,
  // activations and element-wise
  relu,
  // data
  input,
  // shape and routing
  // normalization and scaling
  // losses and metrics
  // recurrent
  // forks
];

const REGISTRY = new Map<string, LayerDef>();
for (const def of ALL) {
  for (const name of [def.type, ...(def.aliases ?? [])]) {
    if (REGISTRY.has(name)) throw new Error(`layer type ${name} is registered twice`);
    REGISTRY.set(name, def);
  }
}

export function knownLayerTypes(): string[] {
  return [...REGISTRY.keys()].sort();
}

export function findLayerDef(type: string): LayerDef | undefined {
  return REGISTRY.get(type);
}

/** The definition of a layer type, or an error naming the type, the dialect and the file to add. */
export function layerDef(type: string, where: { layer: string; dialect: string }): LayerDef {
  const def = REGISTRY.get(type);
  if (def) return def;
  const near = closestNames(type, REGISTRY.keys());
  const file = type.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  throw new CaffeToolError(`unknown layer type '${type}' (dialect ${where.dialect})`, {
    where: { layer: where.layer },
    hint: `${near.length ? `did you mean ${near.map((n) => `'${n}'`).join(' or ')}? ` : ''}caffe-tool has no src/layers/${file}.ts; to support this type, add that file and list it in src/layers/index.ts`,
  });
}
