// DetectionEvaluate (SSD): matches detections [1, 1, D, 7] against ground truth [1, 1, G, 8]. The top has one row
// per positive class and one per detection, each [image_id, label, score, true_pos, false_pos]:
// [1, 1, positive classes + D, 5], positive classes being num_classes less the background (unless its id is -1).
import { CaffeToolError } from '../errors.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const detectionEvaluate: LayerDef = {
  type: 'DetectionEvaluate',
  trainingOnly: true,
  param: 'detection_evaluate_param',
  // SSD's header misspells ExactNumBottomBlobs (ExactBottomBlobs), so Caffe counts nothing; it reads bottoms 0 and 1.
  bottoms: [2, Infinity],
  tops: [1, 1],
  outputShapes(ctx) {
    const p = ctx.param('detection_evaluate_param');
    if (!p.has('num_classes')) throw new CaffeToolError('detection_evaluate_param.num_classes is required (the number of classes, background included)');
    const overlap = p.num('overlap_threshold');
    if (!(overlap > 0)) throw new CaffeToolError(`detection_evaluate_param.overlap_threshold must be positive, got ${overlap}`);
    const rows = [7, 8].map((width, i) => {
      const [num, channels, height, w] = legacyShape(ctx.inputs[i], 'DetectionEvaluate');
      if (num !== 1 || channels !== 1 || w !== width) {
        const what = i === 0 ? 'the detections' : 'the ground truth';
        throw new CaffeToolError(`${what} '${ctx.bottoms[i]}' must be 1 x 1 x rows x ${width}, got ${formatShape(ctx.inputs[i])}`);
      }
      return height;
    });
    const numClasses = p.num('num_classes');
    // background_label_id is a uint32 that Caffe reads into an int: 4294967295 is -1, no background class.
    const positives = (p.num('background_label_id') | 0) === -1 ? numClasses : numClasses - 1;
    return [[1, 1, positives + rows[0], 5]];
  },
};
