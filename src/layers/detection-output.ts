// DetectionOutput (SSD): decodes the location predictions against the priors, keeps the boxes that survive per-class
// NMS and keep_top_k, and writes one row [image_id, label, confidence, xmin, ymin, xmax, ymax] per box: top
// [1, 1, num_kept, 7]. num_kept depends on the data, so caffe-tool leaves the shape unknown (undefined); Caffe's
// Reshape sets a placeholder [1, 1, 1, 7] and every forward pass resizes it (to N rows of -1 when nothing is kept).
import { CaffeToolError } from '../errors.js';
import { checkPredictions } from './detection-inputs.js';
import type { LayerDef } from './types.js';

export const detectionOutput: LayerDef = {
  type: 'DetectionOutput',
  param: 'detection_output_param',
  bottoms: [3, 4],
  tops: [1, 1],
  noOnnx:
    'DetectionOutput decodes boxes against the priors, runs non-maximum suppression per class and keeps the top_k best with a data-dependent number of rows: no standard ONNX op does SSD\'s decoding + NMS + keep_top_k exactly. Export the net up to its location, confidence and prior blobs (--blob NAME ...) and run this step outside the model',
  unknownShapeReason:
    'DetectionOutput keeps as many boxes as survive NMS on the data: its top is [1, 1, number kept, 7] (Caffe shows a placeholder 1x1x1x7 until the first forward pass)',
  outputShapes(ctx) {
    const p = ctx.param('detection_output_param');
    if (!p.has('num_classes')) throw new CaffeToolError('detection_output_param.num_classes is required (the number of classes, background included)');
    const nms = p.sub('nms_param');
    const threshold = nms.num('nms_threshold');
    if (!(threshold >= 0)) throw new CaffeToolError(`detection_output_param.nms_param.nms_threshold must not be negative, got ${threshold}`);
    const eta = nms.num('eta');
    if (!(eta > 0 && eta <= 1)) throw new CaffeToolError(`detection_output_param.nms_param.eta must be in (0, 1], got ${eta}`);
    checkPredictions(ctx, p.num('num_classes'), p.bool('share_location'), 'detection_output_param');
    return [undefined];
  },
};
