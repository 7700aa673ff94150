// caffe-tool to-onnx --model M --weights W -o OUT.onnx: export a Caffe net with its weights to ONNX.
import type { Command } from 'commander';
import { DEFAULT_OPSET, exportOnnx } from '../convert/to-onnx.js';
import { writeAll, writeAtomic } from '../io/atomic.js';
import { loadNet, loadWeights } from '../net/load.js';
import { usageError } from '../errors.js';
import { notice, parseInputShapes, refuseOverwrite } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  output?: string;
  opset: string;
  input?: string[];
  dynamicBatch?: boolean;
  blob?: string[];
}

export function register(program: Command): void {
  program
    .command('to-onnx')
    .description('export a Caffe net and its weights to an ONNX model (Caffe semantics kept exactly)')
    .option('--model <prototxt>', 'the net definition')
    .option('--weights <caffemodel>', 'the trained weights')
    .option('-o, --output <file>', 'the .onnx file to write')
    .option('--opset <n>', 'ONNX opset (13 to 21)', String(DEFAULT_OPSET))
    .option('--input <name=N,C,H,W...>', 'input shapes, replacing the net\'s (or giving a data layer\'s)')
    .option('--dynamic-batch', 'make the batch axis of inputs and outputs symbolic')
    .option('--blob <name...>', 'output these blobs instead of the ones no layer reads')
    .action((opts: Options) => {
      if (!opts.model || !opts.weights || !opts.output) throw usageError('to-onnx needs --model, --weights and -o OUT.onnx');
      refuseOverwrite(opts.model, opts.output);
      refuseOverwrite(opts.weights, opts.output);
      const { net } = loadNet(opts.model, { phase: 'TEST', inputs: parseInputShapes(opts.input), notice });
      loadWeights(net, opts.weights, { notice });
      const exported = exportOnnx(net, { opset: Number(opts.opset), dynamicBatch: opts.dynamicBatch, outputs: opts.blob });
      if (exported.skipped.length) notice(`left out training-only layers: ${exported.skipped.join(', ')}`);
      writeAtomic(opts.output, (fd) => writeAll(fd, exported.model));
      const shape = (s?: (number | string)[]) => (s ? s.join('x') : '(dynamic)');
      process.stdout.write(
        `${opts.output}: ONNX opset ${opts.opset}, ${exported.model.length} bytes\n` +
          `  inputs: ${exported.inputs.map((i) => `${i.name} ${shape(i.shape)}`).join(', ')}\n` +
          `  outputs: ${exported.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(', ')}\n`,
      );
    });
}
