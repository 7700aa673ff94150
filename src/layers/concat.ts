// Concat: joins the bottoms along concat_param.axis (default 1, or the legacy concat_dim); every other axis
// must match, and the top's size on the axis is the sum of the bottoms'.
import { CaffeToolError } from '../errors.js';
import { axisOrLegacyDim } from './legacy-axis.js';
import { formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const concat: LayerDef = {
  type: 'Concat',
  param: 'concat_param',
  bottoms: [1, Infinity],
  tops: [1, 1],
  outputShapes(ctx) {
    const first = ctx.inputs[0];
    const axis = axisOrLegacyDim(ctx.param('concat_param'), first.length, 'concat_param', 'concat_dim');
    const out = [...first];
    ctx.inputs.forEach((s, i) => {
      if (i === 0) return;
      const which = `bottom ${i} '${ctx.bottoms[i]}' (${formatShape(s)})`;
      const base = `bottom 0 '${ctx.bottoms[0]}' (${formatShape(first)})`;
      if (s.length !== first.length) throw new CaffeToolError(`${which} has ${s.length} axes but ${base} has ${first.length}: all bottoms must have the same number of axes`);
      const j = s.findIndex((d, j) => j !== axis && d !== first[j]);
      if (j >= 0) {
        throw new CaffeToolError(`${which} does not match ${base} on axis ${j} (${s[j]} vs ${first[j]}): only the concat axis ${axis} may differ`);
      }
      out[axis] += s[axis];
    });
    return [out];
  },
  toOnnx(ctx) {
    // One bottom: Caffe's top shares the bottom's data.
    if (ctx.x.length === 1) {
      ctx.g.node('Identity', ctx.x, { outputs: ctx.y, name: ctx.name });
      return;
    }
    const axis = axisOrLegacyDim(ctx.param('concat_param'), ctx.inputs[0].length, 'concat_param', 'concat_dim');
    ctx.g.node('Concat', ctx.x, { outputs: ctx.y, name: ctx.name, attrs: { axis } });
  },
  gradient(ctx) {
    // The top's gradient cut back into the bottoms' pieces along the axis.
    if (ctx.x.length === 1) return { dx: [ctx.dy[0]] };
    const axis = axisOrLegacyDim(ctx.param('concat_param'), ctx.inputs[0].length, 'concat_param', 'concat_dim');
    const sizes = ctx.inputs.map((s) => s[axis]);
    return { dx: ctx.g.nodeN('Split', [ctx.dy[0]!, ctx.g.int64(sizes)], sizes.length, { name: `${ctx.name}_dx`, attrs: { axis } }) };
  },
};
