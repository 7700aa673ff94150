// Data: records from a LevelDB/LMDB database (data_param.source). The data top's shape is that of the stored
// records (after transform_param's crop), so it is not known without the database; the label top is [batch_size].
import { batchSize } from './data-params.js';
import type { LayerDef } from './types.js';

export const data: LayerDef = {
  type: 'Data',
  source: true,
  param: 'data_param',
  bottoms: [0, 0],
  tops: [1, 2],
  outputShapes(ctx) {
    const batch = batchSize(ctx.param('data_param'), 'data_param');
    return [undefined, [batch]].slice(0, ctx.tops.length);
  },
  unknownShapeReason: 'the data shape comes from the records in the database named by data_param.source, which caffe-tool does not open',
};
