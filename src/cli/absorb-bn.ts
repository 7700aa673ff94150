// caffe-tool absorb-bn --model M --weights W --out-model M2 --out-weights W2 [--verify]: fold batch
// normalization into the layer before it; --verify runs the old and new nets on the same random input.
import type { Command } from 'commander';
import { exportOnnx } from '../convert/to-onnx.js';
import { CaffeToolError, usageError } from '../errors.js';
import { encodingForPath, writeCaffeFile } from '../io/files.js';
import { loadNet, loadWeights } from '../net/load.js';
import { buildNet, type Net } from '../net/net.js';
import { attachWeights } from '../net/weights.js';
import { createSession, runSession } from '../runtime/session.js';
import { absorbBatchNorm, describeEntry } from '../surgery/absorb-bn.js';
import { notice, parseInputShapes, refuseOverwrite } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  outModel?: string;
  outWeights?: string;
  verify?: boolean;
  keepUnfoldable?: boolean;
  input?: string[];
  seed: string;
}

export function register(program: Command): void {
  program
    .command('absorb-bn')
    .description('fold BatchNorm (+Scale), NVCaffe BatchNorm and the SegNet/ENet/PSPNet BN into the Convolution, Deconvolution or InnerProduct before it')
    .option('--model <prototxt>', 'the net definition')
    .option('--weights <caffemodel>', 'the trained weights')
    .option('--out-model <prototxt>', 'the new net definition to write (text, no weights)')
    .option('--out-weights <caffemodel>', 'the new weights to write (binary: the new definition with its blobs)')
    .option('--verify', 'run the old and new nets on random input and print the largest difference')
    .option('--keep-unfoldable', 'leave a BN that cannot be folded as it is, instead of turning it into one Scale layer')
    .option('--input <name=N,C,H,W...>', 'input shapes, replacing the net\'s (or giving a data layer\'s)')
    .option('--seed <n>', 'seed of the random input for --verify', '1')
    .action(async (opts: Options) => {
      if (!opts.model || !opts.weights || !opts.outModel || !opts.outWeights) {
        throw usageError('absorb-bn needs --model, --weights, --out-model and --out-weights', 'for example: caffe-tool absorb-bn --model deploy.prototxt --weights w.caffemodel --out-model folded.prototxt --out-weights folded.caffemodel');
      }
      if (opts.outModel === opts.outWeights) throw usageError('--out-model and --out-weights are the same file');
      for (const out of [opts.outModel, opts.outWeights]) for (const input of [opts.model, opts.weights]) refuseOverwrite(input, out);
      if (encodingForPath(opts.outModel) !== 'text') throw usageError(`--out-model ${opts.outModel}: the definition is written as text`, 'give it a .prototxt name');
      if (encodingForPath(opts.outWeights) !== 'binary') throw usageError(`--out-weights ${opts.outWeights}: the weights are written as a binary caffemodel`, 'give it a .caffemodel name');
      const inputs = parseInputShapes(opts.input);
      const { net, param } = loadNet(opts.model, { phase: 'TEST', inputs, notice });
      loadWeights(net, opts.weights, { notice });
      const result = absorbBatchNorm(net, param, { keepUnfoldable: opts.keepUnfoldable });

      const lines = result.entries.map(describeEntry);
      const folded = result.entries.filter((e) => e.action === 'folded').length;
      if (!result.entries.length) lines.push('no BatchNorm or BN layer: the net is written unchanged');

      let verifyLine: string | undefined;
      if (opts.verify) {
        const after = buildNet(result.definition, { phase: 'TEST', dialect: net.dialect, inputs, file: opts.outModel });
        attachWeights(after, result.weights, opts.outWeights);
        const d = await compareNets(net, after, Number(opts.seed));
        verifyLine = `verify: ${d.outputs.join(', ')} on random input of ${d.inputs.join(', ')}: largest absolute difference ${d.abs.toExponential(3)}, relative ${d.rel.toExponential(3)} (to the output's largest |value|)`;
      }
      const file = { kind: 'net' as const, dialect: net.dialect };
      const m = writeCaffeFile(opts.outModel, { ...file, message: result.definition }, 'text');
      const w = writeCaffeFile(opts.outWeights, { ...file, message: result.weights }, 'binary');
      for (const warning of [...m.warnings, ...w.warnings]) process.stderr.write(`caffe-tool: warning: ${warning}\n`);
      const kept = result.entries.length - folded;
      lines.push(`${folded} of ${result.entries.length} batch normalizations folded${kept ? `, ${kept} not (see above)` : ''}`);
      if (verifyLine) lines.push(verifyLine);
      lines.push(`wrote ${opts.outModel} (${m.bytes} bytes) and ${opts.outWeights} (${w.bytes} bytes)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

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
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const i of a.inputs) {
    const dims = (i.shape ?? []).map(Number);
    if (!i.shape || dims.some((d) => !(d > 0))) throw new CaffeToolError(`--verify: the shape of input '${i.name}' is unknown`, { hint: 'give it with --input NAME=N,C,H,W' });
    feeds[i.name] = { data: Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, () => next() * 2 - 1), dims };
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
