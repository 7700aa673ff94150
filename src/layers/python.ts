// Python: a layer written in Python (python_param.module and .layer, loaded by Caffe's Python layer support).
// Its setup and reshape are Python code, so its top shapes (and any blobs it owns) cannot be known here.
import type { LayerDef } from './types.js';

export const python: LayerDef = {
  type: 'Python',
  param: 'python_param',
  bottoms: [0, Infinity],
  tops: [0, Infinity],
  outputShapes: (ctx) => ctx.tops.map(() => undefined),
  unknownShapeReason: (ctx) => {
    const p = ctx.param('python_param');
    return `a Python layer sets its top shapes in its own Python code (class ${p.str('layer') || '?'} in module ${p.str('module') || '?'}), which caffe-tool does not run`;
  },
};
