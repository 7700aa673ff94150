// VideoData (SSD, NVCaffe): frames from a webcam or a video file; tops data [batch_size, C, H, W] with the
// frames' own channels and size (or transform_param's crop), and label [batch_size] (all zeros).
import { CaffeToolError } from '../errors.js';
import { batchSize } from './data-params.js';
import { forkParam } from './fork-param.js';
import type { LayerDef } from './types.js';

export const videoData: LayerDef = {
  type: 'VideoData',
  source: true,
  param: 'video_data_param',
  bottoms: [0, 0],
  tops: [1, Infinity],
  outputShapes(ctx) {
    const v = forkParam(ctx, 'video_data_param', ['ssd', 'nvcaffe']);
    if (v.str('video_type') === 'VIDEO' && !v.has('video_file')) {
      throw new CaffeToolError('video_data_param.video_file is required when video_type is VIDEO');
    }
    const batch = batchSize(ctx.param('data_param'), 'data_param');
    // Caffe only shapes the first two tops; any further top stays empty.
    return ctx.tops.map((_, i) => (i === 1 ? [batch] : undefined));
  },
  unknownShapeReason: 'the data shape is that of the video frames (channels and size), known only once the camera or video file is opened',
};
