// MultinomialLogisticLoss: -log of the probability each item gives its label, averaged over N; the label holds
// one value per item (N, or N x 1 x 1 x 1). The loss top is a scalar (shape []). Probabilities are clamped at
// Caffe's kLOG_THRESHOLD (1e-20), in the gradient too.
import { CaffeToolError } from '../errors.js';
import { zeros } from './broadcast-grad.js';
import { integerLabels, lossTop, refuseLabelGradient } from './loss-layer.js';
import { count, formatShape, legacyShape } from './shape.js';
import type { LayerDef } from './types.js';

export const multinomialLogisticLoss: LayerDef = {
  type: 'MultinomialLogisticLoss',
  trainingOnly: true,
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes(ctx) {
    const loss = lossTop(ctx);
    const [, c, h, w] = legacyShape(ctx.inputs[1], 'MultinomialLogisticLoss');
    if (c !== 1 || h !== 1 || w !== 1) {
      throw new CaffeToolError(`the label '${ctx.bottoms[1]}' must hold one value per item (N, or N x 1 x 1 x 1), got ${formatShape(ctx.inputs[1])}`);
    }
    return [loss];
  },
  toOnnx(ctx) {
    const g = ctx.g;
    const num = ctx.inputs[0][0];
    const p = g.node('Reshape', [ctx.x[0], g.int64([num, count(ctx.inputs[0], 1)])], { name: `${ctx.name}_prob_2d` });
    const { index } = integerLabels(ctx, ctx.x[1], [num, 1], undefined);
    const picked = g.node('Max', [g.node('GatherElements', [p, index], { attrs: { axis: 1 }, name: `${ctx.name}_picked` }), g.float32([LOG_THRESHOLD], [])], { name: `${ctx.name}_clamped` });
    const sum = g.node('ReduceSum', [g.node('Log', [picked], { name: `${ctx.name}_log` })], { attrs: { keepdims: 0 }, name: `${ctx.name}_sum` });
    g.node('Mul', [sum, g.float32([-1 / num], [])], { outputs: [ctx.y[0]], name: ctx.name });
    ctx.train?.save('index', index);
    ctx.train?.save('picked', picked);
  },
  gradient(ctx) {
    // Caffe: dx = 0 except at each item's label, where it is -loss_weight / N / max(p, 1e-20).
    const g = ctx.g;
    refuseLabelGradient(ctx);
    if (!ctx.needDx[0]) return {};
    const [num, dim] = [ctx.inputs[0][0], count(ctx.inputs[0], 1)];
    const scale = g.node('Mul', [ctx.dy[0]!, g.float32([-1 / num], [])], { name: `${ctx.name}_scale` });
    const at = g.node('Div', [scale, ctx.saved('picked')], { name: `${ctx.name}_at_label` });
        const dx = g.node('ScatterElements', [zeros(ctx, [num, dim]), ctx.saved('index'), at], { attrs: { axis: 1 }, name: `${ctx.name}_dx_2d` });
    return { dx: [g.node('Reshape', [dx, g.int64(ctx.inputs[0])], { name: `${ctx.name}_dx` })] };
  },
};

const LOG_THRESHOLD = 1e-20;
