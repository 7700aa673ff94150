// AnnotatedData (SSD): images with box annotations from a database (data_param.source, batch_size). The data
// top has the stored images' channels, and the label top holds one row of 8 values per box in the batch
// ([1, 1, boxes, 8]), so neither shape is known without the database, whatever resize_param or crop says.
import type { LayerDef } from './types.js';

export const annotatedData: LayerDef = {
  type: 'AnnotatedData',
  source: true,
  param: 'annotated_data_param',
  bottoms: [0, 0],
  tops: [1, Infinity],
  outputShapes: (ctx) => ctx.tops.map(() => undefined),
  unknownShapeReason: 'the data channels come from the images in the database (data_param.source) and the label has one row per annotated box in the batch, so both depend on the data',
};
