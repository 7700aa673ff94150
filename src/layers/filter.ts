// Filter: forwards the items (along axis 0) of bottoms 0..k-1 whose value in the last bottom, the selector,
// is non-zero. Top t is [number of selected items, ...bottom t's other dims]: that first dim is data.
import { CaffeToolError } from '../errors.js';
import { formatShape } from './shape.js';
import type { LayerDef } from './types.js';

export const filter: LayerDef = {
  type: 'Filter',
  bottoms: [2, Infinity],
  tops: [1, Infinity],
  outputShapes(ctx) {
    const k = ctx.inputs.length - 1;
    if (ctx.tops.length !== k) {
      throw new CaffeToolError(`a Filter layer with ${ctx.inputs.length} bottoms (the last one is the selector) needs ${k} top${k === 1 ? '' : 's'}, one per filtered bottom; it has ${ctx.tops.length}`);
    }
    const selector = ctx.inputs[k];
    if (selector.slice(1).some((d) => d !== 1)) {
      throw new CaffeToolError(`the selector (last bottom '${ctx.bottoms[k]}') must have size 1 on every axis but the first, got ${formatShape(selector)}`);
    }
    ctx.inputs.slice(0, k).forEach((s, i) => {
      if (s[0] !== selector[0]) {
        throw new CaffeToolError(`bottom ${i} '${ctx.bottoms[i]}' (${formatShape(s)}) must have the same first dim as the selector '${ctx.bottoms[k]}' (${formatShape(selector)})`);
      }
    });
    return ctx.tops.map(() => undefined);
  },
  noOnnx: 'a Filter layer keeps only the items whose selector value is non-zero: its output size depends on the data, and the ONNX export needs every shape before the net runs',
  unknownShapeReason: 'a Filter layer keeps only the items whose selector value is non-zero, so the size of its outputs\' first axis is known only when the net runs',
};
