// caffe-tool fc-to-conv: InnerProduct layers as equivalent Convolutions (Caffe's net surgery), model and weights.
import type { Command } from 'commander';
import { upgradeNet } from '../convert/upgrade/index.js';
import { CaffeToolError, usageError } from '../errors.js';
import { encodingForPath, readCaffeFile, writeCaffeFile } from '../io/files.js';
import { formatShape } from '../layers/shape.js';
import { loadNet, loadWeights } from '../net/load.js';
import { convertWeights, fcToConv } from '../surgery/fc-to-conv.js';
import { notice, parseInputShapes, refuseOverwrite } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  outModel?: string;
  outWeights?: string;
  layers?: string;
  input?: string[];
}

export function register(program: Command): void {
  program
    .command('fc-to-conv')
    .description('turn InnerProduct layers into equivalent Convolutions (fully convolutional nets), weights included')
    .option('--model <prototxt>', 'the net definition')
    .option('--weights <caffemodel>', 'the trained weights')
    .option('--out-model <prototxt>', 'the converted net definition to write')
    .option('--out-weights <caffemodel>', 'the converted weights to write')
    .option('--layers <names>', 'the InnerProduct layers to convert, comma-separated (default: all that follow a spatial blob)')
    .option('--input <name=N,C,H,W...>', 'the shape of a data-layer top the net cannot tell')
    .action((opts: Options) => {
      if (!opts.model || !opts.weights || !opts.outModel || !opts.outWeights) {
        throw usageError('fc-to-conv needs --model, --weights, --out-model and --out-weights');
      }
      for (const input of [opts.model, opts.weights]) for (const out of [opts.outModel, opts.outWeights]) refuseOverwrite(input, out);
      if (opts.outModel === opts.outWeights) throw usageError('--out-model and --out-weights are the same file');
      const layers = opts.layers?.split(',').map((s) => s.trim()).filter(Boolean);
      const inputs = parseInputShapes(opts.input);
      const { net, param } = loadNet(opts.model, { phase: 'TEST', inputs, notice });
      loadWeights(net, opts.weights, { notice }); // every blob's shape checked against the net first
      const result = fcToConv(param, { dialect: net.dialect, file: opts.model, inputs, layers });
      const file = readCaffeFile(opts.weights, { kinds: ['net'], encoding: 'binary' });
      const { weights, missing } = convertWeights(upgradeNet(file.message, { dialect: file.dialect }).net, result);
      if (missing.length) {
        throw new CaffeToolError(`${opts.weights} has no weights for ${missing.join(', ')}: there is nothing to convert`, {
          hint: 'give the .caffemodel the net was trained into, or leave those layers out with --layers',
        });
      }
      writeCaffeFile(opts.outModel, { kind: 'net', dialect: net.dialect, message: result.param }, encodingForPath(opts.outModel));
      const w = writeCaffeFile(opts.outWeights, { kind: 'net', dialect: file.dialect, message: weights }, encodingForPath(opts.outWeights));
      for (const warning of w.warnings) process.stderr.write(`caffe-tool: warning: ${warning}\n`);
      const lines = result.converted.map((c) => {
        const k = c.kernel[0] === 1 && c.kernel[1] === 1 ? '1x1' : `${c.kernel[0]}x${c.kernel[1]}`;
        return `  ${c.name}: InnerProduct on ${formatShape(c.input)} -> Convolution ${c.numOutput} ${k}${c.transposed ? ' (weights transposed)' : ''}\n`;
      });
      const outs = result.net.outputs().map((b) => `${b.name} ${formatShape(b.shape)}`).join(', ');
      process.stdout.write(`${opts.outModel}, ${opts.outWeights}: ${result.converted.length} layer${result.converted.length === 1 ? '' : 's'} converted\n${lines.join('')}  outputs: ${outs}\n`);
    });
}
