// HDF5Output: writes its two inputs (data and label) to hdf5_output_param.file_name; no tops. Caffe reads
// them through the legacy 4-D accessors and needs the same batch size (axis 0) in both.
import { CaffeToolError } from '../errors.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const hdf5Output: LayerDef = {
  type: 'HDF5Output',
  trainingOnly: true,
  param: 'hdf5_output_param',
  bottoms: [2, 2],
  tops: [0, 0],
  outputShapes(ctx) {
    const [data, label] = ctx.inputs.map((s) => legacyShape(s, 'HDF5Output'));
    if (data[0] !== label[0]) {
      throw new CaffeToolError(`the data (${formatShape(ctx.inputs[0])}) and the label (${formatShape(ctx.inputs[1])}) must have the same batch size (axis 0)`);
    }
    return [];
  },
};
