// ROIPooling (Fast/Faster R-CNN): max-pools each region of interest of the feature map into a fixed
// pooled_h x pooled_w grid. Bottoms: features [N, C, H, W] and rois [R, 5] (batch index, x1, y1, x2, y2);
// top [R, C, pooled_h, pooled_w].
import { float } from '../convert/onnx/graph.js';
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
  toOnnx(ctx) {
    const p = forkParam(ctx, 'roi_pooling_param', ['fast-rcnn']);
    if (ctx.inputs[0].length !== 4) throw new CaffeToolError(`the features (bottom 0) must be 4-D (N, C, H, W), got ${formatShape(ctx.inputs[0])}`);
    // ONNX MaxRoiPool is fast-rcnn's ROI pooling: coordinates times spatial_scale rounded half away from zero,
    // sizes max(end - start + 1, 1), bins floor(i * size / pooled) to ceil((i + 1) * size / pooled) clipped to
    // the map, an empty bin 0. It takes the ROIs as [R, 5].
    const rois = ctx.inputs[1].length === 2 ? ctx.x[1] : ctx.g.node('Reshape', [ctx.x[1], ctx.g.int64([-1, 5])], { name: `${ctx.name}_rois` });
    ctx.g.node('MaxRoiPool', [ctx.x[0], rois], {
      outputs: ctx.y,
      name: ctx.name,
      attrs: { pooled_shape: [p.num('pooled_h'), p.num('pooled_w')], spatial_scale: float(Math.fround(p.num('spatial_scale'))) },
    });
  },
};
