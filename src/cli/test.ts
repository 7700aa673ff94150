// caffe-tool test: `caffe test -model M -weights W -iterations N`: the TEST phase, each output averaged.
import type { Command } from 'commander';
import { deviceOf, withDeviceOptions, type DeviceOptions } from './device.js';
import { usageError } from '../errors.js';
import { evaluate } from '../train/evaluate.js';
import { g6, outputLine, TrainLog } from '../train/log.js';
import { readNetSource } from '../train/solver-file.js';
import { notice } from './common.js';

interface Options extends DeviceOptions {
  model?: string;
  weights?: string;
  iterations: string;
  level: string;
  stage?: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  withDeviceOptions(program.command('test').description('run the TEST phase like `caffe test`: averaged outputs (accuracy, loss; per-class IoU for segmentation)'))
    .option('--model <prototxt>', 'the train/val net with TEST-phase data layers (also -model)')
    .option('--weights <caffemodel>', 'the trained weights (also -weights)')
    .option('--iterations <n>', 'how many batches (also -iterations)', '50')
    .option('--level <n>', "the net state's level, as caffe test sets it (also -level)", '0')
    .option('--stage <names>', 'comma-separated stages added to the net state (also -stage)')
    .option('--json', 'print one JSON document')
    .option('--quiet', 'no per-batch log lines on stderr')
    .action(async (opts: Options) => {
      if (!opts.model) throw usageError('test needs the net: --model M.prototxt (or -model)');
      if (!opts.weights) throw usageError('test needs trained weights: --weights W.caffemodel (or -weights)');
      const iterations = Number(opts.iterations);
      if (!(Number.isInteger(iterations) && iterations > 0)) throw usageError(`--iterations must be a positive whole number, not '${opts.iterations}'`);
      const level = Number(opts.level);
      if (!Number.isInteger(level)) throw usageError(`--level must be a whole number, not '${opts.level}'`);
      const { source, baseDir } = readNetSource(opts.model, 'TEST', notice);
      // caffe.cpp's test(): Net(model, TEST, FLAGS_level, &stages) sets the level and adds the stages.
      source.level = level;
      source.stages = [...source.stages, ...(opts.stage?.split(',').filter(Boolean) ?? [])];
      const log = new TrainLog({ quiet: opts.quiet, tty: false });
      const result = await evaluate(source, {
        weights: opts.weights, iterations, device: deviceOf(opts), baseDir, notice,
        onBatch: (i, outputs) => {
          // After the net is built and the weights copied, as caffe.cpp logs it.
          if (i === 0) log.info('caffe.cpp:290', `Running for ${iterations} iterations.`);
          for (const [name, v] of outputs) for (const x of v) log.info('caffe.cpp:304', `Batch ${i}, ${name} = ${g6(x)}`);
        },
      });
      log.info('caffe.cpp:309', `Loss: ${g6(result.loss)}`);
      const lines: string[] = [];
      for (const [name, v] of result.outputs) {
        const w = result.lossWeights.get(name) ?? 0;
        for (const x of v) lines.push(outputLine(name, x, w));
      }
      const seg = result.segmentation;
      if (opts.json) {
        const outputs: Record<string, number | number[]> = {};
        for (const [name, v] of result.outputs) outputs[name] = v.length === 1 ? v[0] : Array.from(v);
        const doc = { iterations, loss: result.loss, outputs, ...(seg ? { segmentation: seg } : {}) };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      for (const line of lines) log.info('caffe.cpp:321', line);
      let text = lines.map((l) => `${l}\n`).join('');
      if (seg) {
        text += `per-class IoU (arg-max of '${seg.scores}' against '${seg.label}'):\n`;
        text += seg.iou.map((v, k) => `  class ${k}: ${v === null ? 'absent' : v.toFixed(4)}\n`).join('');
        text += `mean IoU ${seg.meanIou.toFixed(4)}, pixel accuracy ${seg.pixelAccuracy.toFixed(4)}\n`;
      }
      process.stdout.write(text);
    });
}
