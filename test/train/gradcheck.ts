// Caffe's GradientChecker for caffe-tool's layers: the gradients a layer's ONNX backward computes against
// central finite differences of its ONNX forward. One layer under test, fed by net inputs; the objective is
// sum(r . top) with fixed random r for every top, so each top's gradient is r. Caffe's test rule:
// |analytic - numeric| <= threshold * max(|analytic|, |numeric|, 1).
import { parseCaffeText } from '../../src/io/files.js';
import type { Dialect } from '../../src/io/schema.js';
import { count } from '../../src/layers/shape.js';
import type { Shape } from '../../src/layers/types.js';
import { buildNet } from '../../src/net/net.js';
import { seededUniform } from '../../src/net/weights.js';
import { TrainingEngine } from '../../src/train/engine.js';

export interface GradCheckOptions {
  dialect?: Dialect;
  seed?: number;
  /** Finite-difference step (Caffe's tests use 1e-2 or 1e-3). */
  step?: number;
  threshold?: number;
  /** Input values (labels, values away from kinks); the others are uniform in [-1, 1). */
  values?: Record<string, Float32Array>;
  /** Learned blob values by index; the others are uniform in [-1, 1). */
  weights?: Float32Array[];
  /** Inputs whose gradient is not checked (labels): the layer must not be asked for one (propagate_down). */
  fixed?: string[];
  /** Check at most this many elements per input and per learned blob, one in each run of length/max (default all). */
  maxPerBlob?: number;
}

export interface GradCheckResult {
  /** Elements compared. */
  checked: number;
  /** The failures, as readable lines (empty when the gradients agree). */
  failures: string[];
}

export async function checkGradients(layer: string, inputs: Record<string, Shape>, opts: GradCheckOptions = {}): Promise<GradCheckResult> {
  const rand = seededUniform(opts.seed ?? 7);
  const uniform = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const text = Object.entries(inputs).map(([name, shape]) => `input: "${name}"\ninput_shape { ${shape.map((d) => `dim: ${d}`).join(' ')} }\n`).join('')
    + `layer { name: "under_test" ${layer} }\n`;
  const file = parseCaffeText(text, { kinds: ['net'], dialect: opts.dialect });
  const net = buildNet(file.message, { dialect: opts.dialect ?? file.dialect, phase: 'TRAIN' });
  const l = net.layer('under_test')!;
  const values = new Map<string, Float32Array>();
  (l.learned ?? []).forEach((spec, i) => values.set(`under_test/${i}`, opts.weights?.[i] ?? uniform(count(spec.shape))));
  const checkedInputs = Object.keys(inputs).filter((n) => !opts.fixed?.includes(n));
  const engine = await TrainingEngine.create(net, { backward: 'external', inputGrads: checkedInputs, values, seed: 1 });
  try {
    const batch: Record<string, Float32Array> = {};
    for (const [name, shape] of Object.entries(inputs)) batch[name] = opts.values?.[name] ?? uniform(count(shape));
    const r = new Map<string, Float32Array>();
    for (const [blob, t] of engine.graph.gradIn) {
      r.set(blob, uniform(count(t.shape)));
      batch[`grad_in:${blob}`] = r.get(blob)!;
    }
    const objective = async () => {
      engine.reseed(1);
      const { outputs } = await engine.step(batch);
      let f = 0;
      for (const [blob, w] of r) {
        const y = outputs.get(blob)!;
        for (let i = 0; i < y.length; i++) f += w[i] * y[i];
      }
      return f;
    };
    engine.reseed(1);
    const analytic = await engine.step(batch);
    const step = opts.step ?? 1e-2;
    const threshold = opts.threshold ?? 1e-3;
    const failures: string[] = [];
    let checked = 0;
    const compare = async (what: string, data: Float32Array, grad: Float32Array) => {
      const stride = Math.max(1, Math.floor(data.length / (opts.maxPerBlob ?? data.length)));
      for (let k = 0; k * stride < data.length; k++) {
        // One element of each run of `stride`, at an offset that varies from run to run: every multiple of the
        // stride alone would miss whole kernel columns (a stride of 3 checks only kw = 0 of a 3x3 weight).
        const i = Math.min(data.length - 1, k * stride + ((k * 2654435761) % 4294967296) % stride);
        const keep = data[i];
        data[i] = keep + step;
        const plus = await objective();
        data[i] = keep - step;
        const minus = await objective();
        data[i] = keep;
        const numeric = (plus - minus) / (2 * step);
        const scale = Math.max(Math.abs(grad[i]), Math.abs(numeric), 1);
        if (!(Math.abs(grad[i] - numeric) <= threshold * scale)) failures.push(`${what}[${i}]: analytic ${grad[i]}, numeric ${numeric}`);
        checked++;
      }
    };
    for (const name of checkedInputs) {
      const grad = analytic.dataGrads.get(name);
      if (!grad) throw new Error(`no gradient came back for input '${name}'`);
      await compare(`d ${name}`, batch[name], grad);
    }
    for (const p of engine.params) {
      const grad = analytic.grads.get(p);
      if (grad) await compare(`d ${p.key} (${p.role})`, engine.values.get(p)!, grad);
    }
    return { checked, failures };
  } finally {
    await engine.release();
  }
}
