// Accuracy: the fraction of labels found among the top_k scores along accuracy_param.axis. Top 0 is a scalar
// (shape []); the optional top 1 holds the accuracy of each class, shape [number of classes].
import { CaffeToolError } from '../errors.js';
import { checkLabelCount } from './loss-layer.js';
import { canonicalAxis, count } from './shape.js';
import type { LayerDef } from './types.js';

export const accuracy: LayerDef = {
  type: 'Accuracy',
  trainingOnly: true,
  param: 'accuracy_param',
  bottoms: [2, 2],
  // Caffe's header misspells MaxTopBlobs (MaxTopBlos), so Caffe itself lets a third top through unshaped.
  tops: [1, 2],
  outputShapes(ctx) {
    const p = ctx.param('accuracy_param');
    const [scores, label] = ctx.inputs;
    const topK = p.num('top_k');
    // Caffe compares with the integer quotient count(scores) / count(labels), before it checks the label count.
    const classes = Math.trunc(count(scores) / count(label));
    if (topK > classes) {
      throw new CaffeToolError(`accuracy_param.top_k ${topK} is more than the ${classes} classes (${count(scores)} scores for ${count(label)} labels)`);
    }
    const axis = canonicalAxis(p.num('axis'), scores.length, 'accuracy_param.axis');
    checkLabelCount(ctx, axis, 'accuracy_param.axis');
    return ctx.tops.length === 2 ? [[], [scores[axis]]] : [[]];
  },
};
