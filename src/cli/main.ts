#!/usr/bin/env node
// The caffe-tool command line: one file per command in this folder; this one wires them and prints errors.
import { Command, CommanderError } from 'commander';
import { BAD_DATA, BAD_USAGE, CaffeToolError } from '../errors.js';
import * as absorbBn from './absorb-bn.js';
import { normaliseArgv } from './argv.js';
import * as classWeights from './class-weights.js';
import * as convert from './convert.js';
import * as deploy from './deploy.js';
import * as edit from './edit.js';
import * as exportTriton from './export-triton.js';
import * as fcToConv from './fc-to-conv.js';
import * as fromMatlab from './from-matlab.js';
import * as info from './info.js';
import * as plotLog from './plot-log.js';
import * as run from './run.js';
import * as serve from './serve.js';
import * as test from './test.js';
import * as time from './time.js';
import * as toMatlab from './to-matlab.js';
import * as toOnnx from './to-onnx.js';
import * as train from './train.js';
import * as upgrade from './upgrade.js';

export function buildProgram(): Command {
  const program = new Command('caffe-tool')
    .description('Caffe models without Caffe: read, write, convert, upgrade, repair, export, serve and fine-tune')
    .option('--debug', 'show stack traces on errors')
    .showHelpAfterError()
    .exitOverride();
  absorbBn.register(program);
  classWeights.register(program);
  convert.register(program);
  deploy.register(program);
  edit.register(program);
  exportTriton.register(program);
  fcToConv.register(program);
  fromMatlab.register(program);
  info.register(program);
  plotLog.register(program);
  toMatlab.register(program);
  toOnnx.register(program);
  run.register(program);
  serve.register(program);
  test.register(program);
  time.register(program);
  train.register(program);
  upgrade.register(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await buildProgram().parseAsync(normaliseArgv(argv), { from: 'user' });
    // A command that finished but found bad data sets process.exitCode itself.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version requests end here too, with exit code 0; commander already printed its message.
      return e.exitCode === 0 ? 0 : BAD_USAGE;
    }
    if (e instanceof CaffeToolError) {
      process.stderr.write(`caffe-tool: ${e.format()}\n`);
      if (debug) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    process.stderr.write(`caffe-tool: internal error: ${(e as Error)?.message ?? e}\n`);
    process.stderr.write(debug ? `${(e as Error)?.stack}\n` : '  (run again with --debug for the stack trace, and please report it)\n');
    return BAD_DATA;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
