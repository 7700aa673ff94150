// Power: y = (shift + scale x)^power, element-wise, same shape.
import { sameAsInput } from './shape.js';
import type { LayerDef, OnnxContext } from './types.js';

export const power: LayerDef = {
  type: 'Power',
  param: 'power_param',
  bottoms: [1, 1],
  tops: [1, 1],
  outputShapes: sameAsInput,
  toOnnx(ctx) {
    const p = ctx.param('power_param');
    const [pw, scale, shift] = ['power', 'scale', 'shift'].map((f) => Math.fround(p.num(f)));
    // Caffe ignores the input when power * scale is 0: every value is 1 (power 0) or shift^power.
    if (Math.fround(pw * scale) === 0) {
      filledLikeInput(ctx, pw === 0 ? 1 : Math.pow(shift, pw));
      return;
    }
    // The steps Caffe skips when they do nothing, in its order: scale, shift, power.
    const steps: [string, number][] = [];
    if (scale !== 1) steps.push(['Mul', scale]);
    if (shift !== 0) steps.push(['Add', shift]);
    if (pw !== 1) steps.push(['Pow', pw]);
    if (!steps.length) {
      ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
      return;
    }
    let t = ctx.x[0];
    steps.forEach(([op, v], i) => {
      const last = i === steps.length - 1;
      t = ctx.g.node(op, [t, ctx.g.float32([v], [])], last ? { outputs: ctx.y, name: ctx.name } : { name: `${ctx.name}_${op.toLowerCase()}` });
    });
  },
};

/** The top filled with one value, in the input's shape (the batch read from the input when it is symbolic). */
export function filledLikeInput(ctx: OnnxContext, value: number): void {
  const shape = ctx.dynamicBatch ? ctx.g.node('Shape', [ctx.x[0]], { name: `${ctx.name}_shape` }) : ctx.g.int64(ctx.outputs[0]);
  ctx.g.node('Expand', [ctx.g.float32([value], []), shape], { outputs: ctx.y, name: ctx.name });
}
