// caffe-tool edit IN OUT: rename or remove layers, set input shapes, change num_output (weights kept in step).
import type { Command } from 'commander';
import { upgradeNet } from '../convert/upgrade/index.js';
import { usageError } from '../errors.js';
import { encodingForPath, readCaffeFile, writeCaffeFile } from '../io/files.js';
import type { Message } from '../io/message.js';
import { formatShape } from '../layers/shape.js';
import { buildNet } from '../net/net.js';
import { loadNet, loadWeights } from '../net/load.js';
import { type EditContext, removeLayer, renameLayer, setInputShape, setNumOutput } from '../surgery/edit.js';
import { notice, parseInputShapes, refuseOverwrite } from './common.js';

interface Options {
  rename?: string[];
  remove?: string[];
  inputShape?: string[];
  numOutput?: string[];
  weights?: string;
  outWeights?: string;
  seed: string;
}

function pairs(specs: string[] | undefined, flag: string, example: string): [string, string][] {
  return (specs ?? []).map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw usageError(`${flag} takes ${example}, not '${s}'`);
    return [s.slice(0, i), s.slice(i + 1)];
  });
}

export function register(program: Command): void {
  program
    .command('edit')
    .description('edit a net: rename or remove layers, set input shapes, change num_output (in this order)')
    .argument('<in>', 'the net to edit (.prototxt, or the definition inside a .caffemodel)')
    .argument('<out>', 'the edited net: text for .prototxt, binary for .caffemodel')
    .option('--rename <old=new...>', 'rename a layer (its weights too, with --weights)')
    .option('--remove <layer...>', 'remove a layer with one bottom and one top; its readers read its bottom')
    .option('--input-shape <name=N,C,H,W...>', "set an Input layer's (or the legacy input's) shape")
    .option('--num-output <layer=N...>', 'change num_output of a Convolution, Deconvolution or InnerProduct')
    .option('--weights <caffemodel>', 'weights to edit alongside the net')
    .option('--out-weights <caffemodel>', 'where to write the edited weights')
    .option('--seed <n>', 'seed for the fillers of re-initialised blobs', '1')
    .action((input: string, output: string, opts: Options) => {
      if (!!opts.weights !== !!opts.outWeights) throw usageError('--weights and --out-weights go together');
      refuseOverwrite(input, output);
      if (opts.weights && opts.outWeights) {
        for (const [a, b] of [[input, opts.outWeights], [opts.weights, opts.outWeights], [opts.weights, output]]) refuseOverwrite(a, b);
        if (output === opts.outWeights) throw usageError('OUT and --out-weights are the same file');
      }
      const renames = pairs(opts.rename, '--rename', 'OLD=NEW');
      const shapes = parseInputShapes(opts.inputShape?.map((s) => s)) ?? {};
      const outputs = pairs(opts.numOutput, '--num-output', 'LAYER=N').map(([l, n]) => {
        if (!/^\d+$/.test(n)) throw usageError(`--num-output ${l}=${n}: N must be a positive integer`);
        return [l, Number(n)] as const;
      });
      if (!renames.length && !opts.remove?.length && !Object.keys(shapes).length && !outputs.length) {
        throw usageError('edit needs something to do', 'give --rename, --remove, --input-shape or --num-output');
      }
      const encoding = encodingForPath(output);
      const { net, param } = loadNet(input, { phase: 'TEST', notice });
      let weightsFile: { message: Message; dialect: typeof net.dialect } | undefined;
      if (opts.weights) {
        loadWeights(net, opts.weights, { notice }); // the weights must fit the net before it changes
        const f = readCaffeFile(opts.weights, { kinds: ['net'], encoding: 'binary' });
        weightsFile = { message: upgradeNet(f.message, { dialect: f.dialect }).net, dialect: f.dialect };
      }
      const ctx: EditContext = { dialect: net.dialect, file: input, weights: weightsFile?.message, notes: [], seed: Number(opts.seed) };
      const edited: Message = { ...param, layer: ((param.layer as Message[] | undefined) ?? []).map((l) => ({ ...l })) };
      for (const [from, to] of renames) renameLayer(edited, from, to, ctx);
      for (const name of opts.remove ?? []) removeLayer(edited, name, ctx);
      for (const [name, shape] of Object.entries(shapes)) setInputShape(edited, name, shape, ctx);
      for (const [name, n] of outputs) setNumOutput(edited, name, n, ctx);
      const result = buildNet(edited, { phase: 'TEST', dialect: net.dialect, file: input });
      writeCaffeFile(output, { kind: 'net', dialect: net.dialect, message: edited }, encoding);
      if (weightsFile && opts.outWeights) {
        const w = writeCaffeFile(opts.outWeights, { kind: 'net', dialect: weightsFile.dialect, message: weightsFile.message }, encodingForPath(opts.outWeights));
        for (const warning of w.warnings) process.stderr.write(`caffe-tool: warning: ${warning}\n`);
      }
      const outs = result.outputs().map((b) => `${b.name} ${formatShape(b.shape)}`).join(', ');
      process.stdout.write(`${output}${opts.outWeights ? `, ${opts.outWeights}` : ''}: ${result.layers.length} layers\n${ctx.notes.map((n) => `  ${n}\n`).join('')}  outputs: ${outs || 'none'}\n`);
    });
}
