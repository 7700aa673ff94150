// MultiBoxLoss (SSD): matches the priors to the ground-truth boxes and adds the localization loss (smooth L1 or L2)
// to the confidence loss (softmax or logistic). Bottoms: location predictions, confidences, priors, ground truth;
// the loss top is a scalar (shape []).
import { CaffeToolError } from '../errors.js';
import { checkPredictions } from './detection-inputs.js';
import { lossTop } from './loss-layer.js';
import { legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const multiBoxLoss: LayerDef = {
  type: 'MultiBoxLoss',
  trainingOnly: true,
  param: 'multibox_loss_param',
  bottoms: [4, 4],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const p = ctx.param('multibox_loss_param');
    if (!p.has('num_classes')) throw new CaffeToolError('multibox_loss_param.num_classes is required (the number of classes, background included)');
    const numClasses = p.num('num_classes');
    if (numClasses < 1) throw new CaffeToolError(`multibox_loss_param.num_classes must be at least 1, got ${numClasses}`);
    const mining = p.str('mining_type');
    if (p.has('do_neg_mining') && p.bool('do_neg_mining') !== (mining !== 'NONE')) {
      throw new CaffeToolError(`multibox_loss_param.do_neg_mining: ${p.bool('do_neg_mining')} contradicts mining_type: ${mining}; do_neg_mining is deprecated, keep only mining_type`);
    }
    const shareLocation = p.bool('share_location');
    if (mining !== 'NONE' && !shareLocation) {
      throw new CaffeToolError(`negative mining (multibox_loss_param.mining_type: ${mining}) only works with share_location: true`);
    }
    // Caffe checks this when it builds the confidence targets, at the first forward pass.
    if (p.bool('map_object_to_agnostic')) {
      const background = p.num('background_label_id') | 0;
      const want = background >= 0 ? 2 : 1;
      if (numClasses !== want) {
        throw new CaffeToolError(`with map_object_to_agnostic, multibox_loss_param.num_classes must be ${want} (object${background >= 0 ? ' and background' : ''}), got ${numClasses}`);
      }
    }
    const loss = lossTop(ctx);
    checkPredictions(ctx, numClasses, shareLocation, 'multibox_loss_param');
    legacyShape(ctx.inputs[3], 'MultiBoxLoss');
    return [loss];
  },
};
