// caffe-tool to-matlab --model M --weights W -o OUT.mat: a caffemodel's blobs as a MAT v5 file in matcaffe's
// convention (dims reversed, same memory, single precision), one variable per blob: <layer>_w, <layer>_b,
// <layer>_<role> for other blobs (BatchNorm: _mean, _variance, _scale_factor).
import type { Command } from 'commander';
import { toMatVariables } from '../convert/from-matlab.js';
import { usageError } from '../errors.js';
import { writeMatFile } from '../io/mat.js';
import { loadNet, loadWeights } from '../net/load.js';
import { notice, parseInputShapes, parsePhase, refuseOverwrite } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  output?: string;
  compress?: boolean;
  phase?: string;
  input?: string[];
}

export function register(program: Command): void {
  program
    .command('to-matlab')
    .description('write a caffemodel\'s blobs to a MAT-file (v5) as matcaffe shows them: W x H x C x N arrays named <layer>_w, <layer>_b')
    .option('--model <prototxt>', 'the net definition')
    .option('--weights <caffemodel>', 'the trained weights')
    .option('-o, --output <file.mat>', 'the MAT-file to write')
    .option('--compress', 'compress every variable (MAT v7, as MATLAB saves by default)')
    .option('--phase <phase>', 'train or test', 'test')
    .option('--input <name=N,C,H,W...>', 'the shape of an input or data-layer top (needed when the net cannot know it)')
    .action((opts: Options) => {
      if (!opts.model || !opts.weights || !opts.output) throw usageError('to-matlab needs --model, --weights and -o OUT.mat');
      refuseOverwrite(opts.model, opts.output);
      refuseOverwrite(opts.weights, opts.output);
      const { net } = loadNet(opts.model, { phase: parsePhase(opts.phase), inputs: parseInputShapes(opts.input), notice });
      const report = loadWeights(net, opts.weights, { notice });
      if (report.missing.length) notice(`not in ${opts.weights} (no variables written): ${report.missing.join(', ')}`);
      const { vars, layers } = toMatVariables(net);
      if (!vars.length) throw usageError(`${opts.weights} has no blobs for the layers of ${opts.model}`);
      const bytes = writeMatFile(opts.output, vars, { compress: opts.compress });
      const lines = [`${opts.output}: MAT v5${opts.compress ? ' (compressed)' : ''}, ${vars.length} variables from ${layers.length} layers, ${bytes} bytes`];
      const dims = new Map(vars.map((v) => [v.name, v.dims.join('x')]));
      for (const l of layers) lines.push(`  ${l.name}: ${l.vars.map((v) => `${v} ${dims.get(v)}`).join(', ')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
