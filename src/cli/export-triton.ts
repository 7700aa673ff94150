// caffe-tool export-triton --model M --weights W -o REPO/: a Triton Inference Server model repository entry
// (REPO/NAME/config.pbtxt + REPO/NAME/1/model.onnx), exported with a symbolic batch so Triton can batch.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_OPSET, exportOnnx } from '../convert/to-onnx.js';
import { checkModelName, tritonConfig, writeTritonModel, type InstanceKind, type TritonTensor } from '../convert/triton.js';
import { usageError } from '../errors.js';
import { loadNet, loadWeights } from '../net/load.js';
import { createSession } from '../runtime/session.js';
import { notice, parseInputShapes } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  onnx?: string;
  output?: string;
  name?: string;
  maxBatch: string;
  maxDelayMs?: string;
  instances: string;
  instanceKind: string;
  input?: string[];
  opset: string;
  force?: boolean;
}

const KINDS: Record<string, InstanceKind> = { auto: 'KIND_AUTO', cpu: 'KIND_CPU', gpu: 'KIND_GPU' };

export function register(program: Command): void {
  program
    .command('export-triton')
    .description('write a Triton Inference Server model repository entry: NAME/config.pbtxt and NAME/1/model.onnx')
    .option('--model <prototxt>', 'the net definition')
    .option('--weights <caffemodel>', 'the trained weights')
    .option('--onnx <file>', 'an ONNX model instead of a Caffe net')
    .option('-o, --output <repo>', 'the model repository folder (created when missing)')
    .option('--name <name>', 'the model name, which is also its folder (default: the model file\'s name)')
    .option('--max-batch <n>', 'max_batch_size; 0 exports a fixed batch and turns Triton\'s batching off', '8')
    .option('--max-delay-ms <ms>', 'how long Triton\'s dynamic batcher may hold a request to fill a batch')
    .option('--instances <n>', 'model instances (per GPU with kind gpu)', '1')
    .option('--instance-kind <kind>', 'auto (GPU when there is one), cpu or gpu', 'auto')
    .option('--input <name=N,C,H,W...>', 'input shapes, replacing the net\'s (or giving a data layer\'s)')
    .option('--opset <n>', 'ONNX opset (13 to 21)', String(DEFAULT_OPSET))
    .option('--force', 'replace REPO/NAME when it exists')
    .action(async (opts: Options) => {
      if (!opts.output) throw usageError('export-triton needs -o REPO (the model repository folder)');
      if (!opts.onnx && !(opts.model && opts.weights)) throw usageError('export-triton needs --model and --weights, or --onnx');
      if (opts.onnx && (opts.model || opts.weights)) throw usageError('give either --onnx or --model/--weights, not both');
      if (opts.onnx && opts.input?.length) throw usageError('--input reshapes a Caffe net; an ONNX model keeps its own shapes');
      const maxBatch = wholeNumber(opts.maxBatch, '--max-batch', 0);
      const instances = wholeNumber(opts.instances, '--instances', 1);
      const kind = KINDS[opts.instanceKind];
      if (!kind) throw usageError(`--instance-kind must be auto, cpu or gpu, not '${opts.instanceKind}'`);
      const delayMs = opts.maxDelayMs === undefined ? undefined : Number(opts.maxDelayMs);
      if (delayMs !== undefined && !(delayMs >= 0 && Number.isFinite(delayMs))) throw usageError(`--max-delay-ms takes milliseconds, not '${opts.maxDelayMs}'`);
      const source = (opts.onnx ?? opts.model)!;
      const name = opts.name ?? basename(source, extname(source));
      checkModelName(name);

      let onnx: Uint8Array;
      if (opts.onnx) onnx = readFileSync(opts.onnx);
      else {
        const { net } = loadNet(opts.model!, { phase: 'TEST', inputs: parseInputShapes(opts.input), notice });
        loadWeights(net, opts.weights!, { notice });
        const exported = exportOnnx(net, { opset: Number(opts.opset), dynamicBatch: maxBatch > 0 });
        if (exported.skipped.length) notice(`left out training-only layers: ${exported.skipped.join(', ')}`);
        onnx = exported.model;
      }

      // ONNX Runtime reads the model as Triton's onnxruntime backend will, and infers the output shapes.
      const session = await createSession(onnx);
      const { config, fixed } = tritonConfig(session.inputMetadata, session.outputMetadata, {
        name, maxBatch, instances: { count: instances, kind }, maxQueueDelayUs: delayMs === undefined ? undefined : Math.round(delayMs * 1000),
      });
      if (fixed.length) notice(`the model has a fixed batch (${fixed.join(', ')}): max_batch_size 0, so Triton will not batch; export with --dynamic-batch to let it`);
      await session.release();
      const folder = writeTritonModel(opts.output, config, onnx, { force: opts.force, inputs: [opts.model, opts.weights, opts.onnx].filter((p): p is string => !!p) });
      const list = (ts: TritonTensor[]) => ts.map((t) => `${t.name} [${t.dims.join(', ')}]`).join(', ');
      process.stdout.write(
        `${folder}: config.pbtxt and 1/model.onnx (${onnx.length} bytes), max_batch_size ${config.maxBatch}\n` +
          `  inputs: ${list(config.inputs)}\n  outputs: ${list(config.outputs)}\n`,
      );
    });
}

function wholeNumber(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min) throw usageError(`${flag} takes a whole number of at least ${min}, not '${text}'`);
  return n;
}
