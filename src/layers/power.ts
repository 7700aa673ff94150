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
  gradient(ctx) {
    // Caffe's backward, special cases and float constants included: dx = dy * diff, diff_scale = power * scale and
    //   diff_scale, when it is 0 or power is 1;
    //   diff_scale * scale * x + diff_scale * shift, for power 2;
    //   power * y / x, for shift 0 (NaN at x = 0, as in Caffe);
    //   diff_scale * y / (scale * x + shift) otherwise.
    const p = ctx.param('power_param');
    const [pw, scale, shift] = ['power', 'scale', 'shift'].map((f) => Math.fround(p.num(f)));
    const diffScale = Math.fround(pw * scale);
    const dy = ctx.dy[0]!;
    const c = (v: number) => ctx.g.float32([v], []);
    const op = (type: string, a: string, b: string, what: string) => ctx.g.node(type, [a, b], { name: `${ctx.name}_${what}` });
    let diff: string;
    if (diffScale === 0 || pw === 1) diff = c(diffScale);
    else if (pw === 2) {
      diff = op('Mul', ctx.x[0], c(Math.fround(diffScale * scale)), 'slope');
      if (shift !== 0) diff = op('Add', diff, c(Math.fround(diffScale * shift)), 'slope_shift');
    } else if (shift === 0) {
      diff = op('Mul', op('Div', ctx.y[0], ctx.x[0], 'y_over_x'), c(pw), 'slope');
    } else {
      let base = ctx.x[0];
      if (scale !== 1) base = op('Mul', base, c(scale), 'scale');
      base = op('Add', base, c(shift), 'shift');
      diff = op('Div', ctx.y[0], base, 'y_over_base');
      if (diffScale !== 1) diff = op('Mul', diff, c(diffScale), 'slope');
    }
    return { dx: [op('Mul', dy, diff, 'dx')] };
  },
};

/** The top filled with one value, in the input's shape (the batch read from the input when it is symbolic). */
export function filledLikeInput(ctx: OnnxContext, value: number): void {
  const shape = ctx.dynamicBatch ? ctx.g.node('Shape', [ctx.x[0]], { name: `${ctx.name}_shape` }) : ctx.g.int64(ctx.outputs[0]);
  ctx.g.node('Expand', [ctx.g.float32([value], []), shape], { outputs: ctx.y, name: ctx.name });
}
