// caffe-tool convert IN OUT: any Caffe file to another encoding, chosen by OUT's extension.
import type { Command } from 'commander';
import { encodingForPath, readCaffeFile, writeCaffeFile } from '../io/files.js';
import { checkDialect } from '../io/schema.js';
import { KINDS } from '../io/sniff.js';
import { refuseOverwrite } from './common.js';

export function register(program: Command): void {
  program
    .command('convert')
    .description('convert a Caffe file (net, weights, solver, mean file, solver state) between text and binary')
    .argument('<in>', 'the file to read: text or binary, found from its content')
    .argument('<out>', 'the file to write: .prototxt/.pbtxt/.txt for text, .caffemodel/.binaryproto/.solverstate for binary')
    .option('--dialect <name>', 'read IN with this Caffe fork\'s schema instead of detecting it')
    .option('--out-dialect <name>', 'write for another fork (fields are matched by name)')
    .option('--in-place', 'allow OUT to be IN')
    .action((input: string, output: string, opts: { dialect?: string; outDialect?: string; inPlace?: boolean }) => {
      refuseOverwrite(input, output, opts.inPlace);
      const encoding = encodingForPath(output);
      const dialect = opts.dialect === undefined ? undefined : checkDialect(opts.dialect);
      const outDialect = opts.outDialect === undefined ? undefined : checkDialect(opts.outDialect);
      const file = readCaffeFile(input, { dialect });
      const target = { ...file, dialect: outDialect ?? file.dialect };
      const result = writeCaffeFile(output, target, encoding);
      for (const w of result.warnings) process.stderr.write(`caffe-tool: warning: ${w}\n`);
      const dialectNote = target.dialect === file.dialect ? `dialect ${file.dialect}` : `dialect ${file.dialect} -> ${target.dialect}`;
      process.stdout.write(
        `${output}: ${KINDS[file.kind]} (${file.encoding} -> ${encoding}, ${dialectNote}), ${result.bytes} bytes\n`,
      );
    });
}
