// HDF5Data: one top per dataset of the HDF5 files listed in hdf5_data_param.source, named like the top, each
// [batch_size, the dataset's own dimensions...]; those dimensions are in the files, so the shapes are unknown here.
import type { LayerDef } from './types.js';

export const hdf5Data: LayerDef = {
  type: 'HDF5Data',
  source: true,
  param: 'hdf5_data_param',
  bottoms: [0, 0],
  tops: [1, Infinity],
  outputShapes: (ctx) => ctx.tops.map(() => undefined),
  unknownShapeReason: 'each top has the shape of the HDF5 dataset of its name (after the batch axis), and caffe-tool does not open the files listed in hdf5_data_param.source',
};
