// ROIPooling (Fast/Faster R-CNN): max-pools each region of interest of the feature map into a fixed
// pooled_h x pooled_w grid. Bottoms: features [N, C, H, W] and rois [R, 5] (batch index, x1, y1, x2, y2);
// top [R, C, pooled_h, pooled_w].
import { CaffeToolError } from '../errors.js';
import { forkParam } from './fork-param.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const roiPooling: LayerDef = {
  type: 'ROIPooling',
  param: 'roi_pooling_param',
  bottoms: [2, 2],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = forkParam(ctx, 'roi_pooling_param', ['fast-rcnn']);
    const ph = p.num('pooled_h');
    const pw = p.num('pooled_w');
    if (ph <= 0) throw new CaffeToolError('roi_pooling_param.pooled_h must be given and positive');
    if (pw <= 0) throw new CaffeToolError('roi_pooling_param.pooled_w must be given and positive');
    const features = legacyShape(ctx.inputs[0], 'ROIPooling');
    const rois = legacyShape(ctx.inputs[1], 'ROIPooling');
    if (rois[1] * rois[2] * rois[3] !== 5) {
      throw new CaffeToolError(`the rois input (bottom 1) must hold 5 values per ROI (batch index, x1, y1, x2, y2), like R x 5; got ${formatShape(ctx.inputs[1])}`);
    }
    return [[rois[0], features[1], ph, pw]];
  },
};
