// caffe-tool absorb-bn --model M --weights W --out-model M2 --out-weights W2 [--verify] [--dialect NAME]: fold batch
// normalization into the layer before it; --verify runs the old and new nets on the same random input.
import type { Command } from 'commander';
import { CaffeToolError, usageError } from '../errors.js';
import { encodingForPath, writeCaffeFile } from '../io/files.js';
import { checkDialect } from '../io/schema.js';
import { loadNet, loadWeights } from '../net/load.js';
import { buildNet } from '../net/net.js';
import { attachWeights } from '../net/weights.js';
import { compareNets } from '../runtime/compare.js';
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
  dialect?: string;
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
    .option('--dialect <name>', 'read the model and the weights as this Caffe fork (and write for it) instead of detecting it')
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
      const dialect = opts.dialect === undefined ? undefined : checkDialect(opts.dialect);
      const { net, param } = loadNet(opts.model, { phase: 'TEST', inputs, dialect, notice });
      loadWeights(net, opts.weights, { dialect, notice });
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
