// Two nets run side by side through ONNX Runtime on the same random input: how far apart their outputs are
// (absorb-bn --verify checks a fold this way).
import { exportOnnx } from '../convert/to-onnx.js';
import { CaffeToolError } from '../errors.js';
import { count } from '../layers/shape.js';
import type { Net } from '../net/net.js';
import { seededUniform } from '../net/weights.js';
import { createSession, runSession } from './session.js';

/** Both nets exported unfolded, run on the same random input: the largest differences over every output. */
export async function compareNets(before: Net, after: Net, seed: number): Promise<{ abs: number; rel: number; inputs: string[]; outputs: string[] }> {
  let a: ReturnType<typeof exportOnnx>;
  let b: ReturnType<typeof exportOnnx>;
  try {
    a = exportOnnx(before, { fold: false });
    b = exportOnnx(after, { fold: false });
  } catch (e) {
    if (!(e instanceof CaffeToolError)) throw e;
    throw new CaffeToolError(`--verify runs the nets through ONNX Runtime, and ${e.message}`, {
      where: e.where,
      hint: 'run absorb-bn without --verify (nothing was written)',
    });
  }
  const next = seededUniform(seed);
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const i of a.inputs) {
    const dims = (i.shape ?? []).map(Number);
    if (!i.shape || dims.some((d) => !(d > 0))) throw new CaffeToolError(`--verify: the shape of input '${i.name}' is unknown`, { hint: 'give it with --input NAME=N,C,H,W' });
    feeds[i.name] = { data: Float32Array.from({ length: count(dims) }, () => next() * 2 - 1), dims };
  }
  const [ra, rb] = [await runSession(await createSession(a.model), feeds), await runSession(await createSession(b.model), feeds)];
  let abs = 0;
  let rel = 0;
  const outputs: string[] = [];
  for (const [name, x] of Object.entries(ra)) {
    const y = rb[name];
    if (!y) throw new CaffeToolError(`--verify: the new net has no output '${name}'`);
    let peak = 0;
    let worst = 0;
    for (let k = 0; k < x.data.length; k++) {
      peak = Math.max(peak, Math.abs(x.data[k]));
      worst = Math.max(worst, Math.abs(x.data[k] - y.data[k]));
    }
    abs = Math.max(abs, worst);
    rel = Math.max(rel, peak ? worst / peak : worst);
    outputs.push(name);
  }
  return { abs, rel, inputs: Object.entries(feeds).map(([n, t]) => `${n} ${t.dims.join('x')}`), outputs };
}
