// The starting value of every learned blob a training run owns: the weights attached to the net (a .caffemodel,
// Caffe's -weights) where the layer has them, else the layer's fillers as Caffe's LayerSetUp applies them, drawn
// in net order from one generator seeded by the solver's random_seed.
import { blobData } from '../io/blob.js';
import { count, formatShape } from '../layers/shape.js';
import type { Net } from '../net/net.js';
import { fill, fillerFor, Rng } from '../surgery/fillers.js';
import { CaffeToolError } from '../errors.js';
import type { OwnedParam } from './params.js';
import { readWeightsParam } from '../net/load.js';
import { attachWeights, type WeightsReport } from '../net/weights.js';
import { readHdf5WeightsParam } from './snapshot-hdf5.js';

/**
 * A weights file read once, to attach to any net by layer name (Caffe's CopyTrainedLayersFrom: HDF5 by the .h5
 * extension, else a binary NetParameter); initialValues then takes the attached blobs over the fillers.
 */
export async function readWeights(file: string, notice?: (m: string) => void): Promise<(net: Net) => WeightsReport> {
  const message = file.endsWith('.h5') ? await readHdf5WeightsParam(file) : readWeightsParam(file, { notice });
  return (net) => attachWeights(net, message, file);
}

/** Values by param key (`layer/i`), for TrainingEngine's `values`; `params` in net order (netParams' owned). */
export function initialValues(net: Net, params: OwnedParam[], seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    if (net.layers[p.layer.index] !== p.layer) throw new CaffeToolError(`param ${p.key} does not belong to net '${net.name}'`);
    const blob = p.layer.weights?.[p.index];
    if (blob) {
      const data = blobData(blob);
      if (data.length !== count(p.shape)) {
        throw new CaffeToolError(`the ${p.role} blob has ${data.length} values, the layer needs ${formatShape(p.shape)} = ${count(p.shape)}`, { where: { layer: p.layer.name } });
      }
      out.set(p.key, Float32Array.from(data));
      continue;
    }
    const spec = p.layer.learned?.[p.index] ?? { role: p.role, shape: p.shape };
    out.set(p.key, fill(p.shape, fillerFor(p.layer.layer, p.layer.type, spec, p.index), rng));
  }
  return out;
}
