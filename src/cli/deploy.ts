// caffe-tool deploy IN OUT: a train/val net to a deploy net (Input layers, no losses or labels, TEST phase).
import type { Command } from 'commander';
import { encodingForPath, writeCaffeFile } from '../io/files.js';
import { formatShape } from '../layers/shape.js';
import { loadNet } from '../net/load.js';
import { makeDeploy } from '../surgery/deploy.js';
import { notice, parseInputShapes, refuseOverwrite } from './common.js';

export function register(program: Command): void {
  program
    .command('deploy')
    .description('turn a train/val net into a deploy net: data layers become Input, losses and accuracy go, TEST phase rules apply')
    .argument('<in>', 'the train/val net (.prototxt, or the definition inside a .caffemodel)')
    .argument('<out>', 'the deploy net to write: text for .prototxt, binary for .caffemodel (keeping the blobs)')
    .option('--input <name=N,C,H,W...>', 'the shape of a data-layer top the net cannot tell (an LMDB Data layer), or a new one')
    .action((input: string, output: string, opts: { input?: string[] }) => {
      refuseOverwrite(input, output);
      const encoding = encodingForPath(output);
      const { net, param } = loadNet(input, { phase: 'TEST', notice });
      const result = makeDeploy(param, { dialect: net.dialect, file: input, inputs: parseInputShapes(opts.input), keepBlobs: encoding === 'binary' });
      const written = writeCaffeFile(output, { kind: 'net', dialect: net.dialect, message: result.param }, encoding);
      for (const w of written.warnings) process.stderr.write(`caffe-tool: warning: ${w}\n`);
      const outputs = result.net.outputs().map((b) => `${b.name} ${formatShape(b.shape)}`);
      process.stdout.write(
        `${output}: deploy net, ${result.net.layers.length} layers, ${written.bytes} bytes\n` +
          result.notes.map((n) => `  ${n}\n`).join('') +
          `  outputs: ${outputs.join(', ') || 'none'}\n`,
      );
    });
}
