// HingeLoss: the one-vs-all hinge (L1 or L2, hinge_loss_param.norm) of N x K scores against N integer labels;
// the loss top is a scalar (shape []). With s = -1 at the label and +1 elsewhere, t = max(0, 1 + s x):
// L1 = sum(t) / N, L2 = sum(t^2) / N (K is everything after the first axis, as Caffe's count / num).
import { integerLabels, lossTop, refuseLabelGradient } from './loss-layer.js';
import { count } from './shape.js';
import type { LayerDef } from './types.js';

export const hingeLoss: LayerDef = {
  type: 'HingeLoss',
  trainingOnly: true,
  param: 'hinge_loss_param',
  bottoms: [2, 2],
  tops: [1, 1],
  loss: true,
  outputShapes: (ctx) => [lossTop(ctx)],
  toOnnx(ctx) {
    const g = ctx.g;
    const num = ctx.inputs[0][0];
    const dim = count(ctx.inputs[0], 1);
    const x = g.node('Reshape', [ctx.x[0], g.int64([num, dim])], { name: `${ctx.name}_scores_2d` });
    const { index } = integerLabels(ctx, ctx.x[1], [num, 1], undefined);
    const isLabel = g.node('Equal', [g.int64(Array.from({ length: dim }, (_, i) => i), [1, dim]), index], { name: `${ctx.name}_is_label` });
    const sign = g.node('Where', [isLabel, g.float32([-1], []), g.float32([1], [])], { name: `${ctx.name}_sign` });
    const t = g.node('Relu', [g.node('Add', [g.node('Mul', [sign, x], { name: `${ctx.name}_signed` }), g.float32([1], [])], { name: `${ctx.name}_margin` })], { name: `${ctx.name}_hinge` });
    const l2 = ctx.param('hinge_loss_param').str('norm') === 'L2';
    const sum = g.node(l2 ? 'ReduceSumSquare' : 'ReduceSum', [t], { attrs: { keepdims: 0 }, name: `${ctx.name}_sum` });
    g.node('Mul', [sum, g.float32([1 / num], [])], { outputs: [ctx.y[0]], name: ctx.name });
    ctx.train?.save('sign', sign);
    ctx.train?.save('hinge', t);
  },
  gradient(ctx) {
    // Caffe: L1 dx = s * sign(t) * loss_weight / N; L2 dx = 2 s t * loss_weight / N.
    const g = ctx.g;
    refuseLabelGradient(ctx);
    if (!ctx.needDx[0]) return {};
    const num = ctx.inputs[0][0];
    const l2 = ctx.param('hinge_loss_param').str('norm') === 'L2';
    const t = ctx.saved('hinge');
    const mag = l2 ? t : g.node('Sign', [t], { name: `${ctx.name}_active` });
    const scale = g.node('Mul', [ctx.dy[0]!, g.float32([(l2 ? 2 : 1) / num], [])], { name: `${ctx.name}_scale` });
    const dx = g.node('Mul', [g.node('Mul', [ctx.saved('sign'), mag], { name: `${ctx.name}_signed_grad` }), scale], { name: `${ctx.name}_dx_2d` });
    return { dx: [g.node('Reshape', [dx, g.int64(ctx.inputs[0])], { name: `${ctx.name}_dx` })] };
  },
};
