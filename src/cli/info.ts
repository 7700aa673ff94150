// caffe-tool info MODEL [--weights W]: layers, shapes, parameter counts, MACs; checks weights and lints.
import type { Command } from 'commander';
import { checkDialect } from '../io/schema.js';
import { formatShape } from '../layers/shape.js';
import { lintNet } from '../net/lint.js';
import { loadNet, loadWeights } from '../net/load.js';
import { summarize, type LayerRow } from '../net/summary.js';
import { lintWeights } from '../net/weights.js';
import { BAD_DATA, usageError } from '../errors.js';
import { notice, parseInputShapes, parsePhase } from './common.js';

interface InfoOptions {
  model?: string;
  weights?: string;
  phase?: string;
  stage?: string[];
  level?: string;
  dialect?: string;
  input?: string[];
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('info')
    .description('show a net: layers, blobs, output shapes, learned parameters and MACs; check and lint weights')
    .argument('[model]', 'the net: a .prototxt (or a .caffemodel, which holds its definition)')
    .option('--model <file>', 'the net, as Caffe\'s -model flag gives it')
    .option('--weights <file>', 'a .caffemodel to check against the net: blob counts, shapes and values')
    .option('--phase <phase>', 'train or test', 'test')
    .option('--stage <name...>', 'net stages (for include/exclude rules)')
    .option('--level <n>', 'net level (for include/exclude rules)')
    .option('--input <name=N,C,H,W...>', 'the shape of an input or data-layer top (data read from a database has none in the net)')
    .option('--dialect <name>', 'read the model as this Caffe fork')
    .option('--json', 'print one JSON document')
    .action((positional: string | undefined, opts: InfoOptions) => {
      const model = positional ?? opts.model;
      if (!model) throw usageError('info needs the net: caffe-tool info MODEL.prototxt');
      const dialect = opts.dialect === undefined ? undefined : checkDialect(opts.dialect);
      const { net, param } = loadNet(model, {
        phase: parsePhase(opts.phase), stages: opts.stage, level: opts.level === undefined ? undefined : Number(opts.level), dialect,
        inputs: parseInputShapes(opts.input), notice,
      });
      const weights = opts.weights ? loadWeights(net, opts.weights, { notice }) : undefined;
      const summary = summarize(net);
      const lints = lintNet(net, param);
      const values = weights ? lintWeights(net) : [];
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...summary, lints, ...(weights ? { weights, values } : {}) }, null, 2)}\n`);
      } else {
        const out: string[] = [];
        out.push(`net ${summary.name || '(unnamed)'}: phase ${summary.phase}, dialect ${summary.dialect}, ${summary.layers.length} layers`);
        const inputs = Object.entries(summary.inputs);
        if (inputs.length) out.push(`inputs: ${inputs.map(([n, s]) => `${n} ${formatShape(s ?? undefined)}`).join(', ')}`);
        out.push(table(summary.layers));
        const t = summary.totals;
        out.push(`total: ${t.params.toLocaleString('en')} learned parameters, ${human(t.macs)} MACs${t.complete ? '' : ' (some shapes unknown: not counted)'}`);
        out.push(`outputs: ${summary.outputs.join(', ') || '(none)'}`);
        if (weights) {
          out.push(`weights ${opts.weights}: ${weights.copied.length} layers copied`);
          if (weights.missing.length) out.push(`  not in the file (they keep their fillers): ${weights.missing.join(', ')}`);
          if (weights.ignored.length) out.push(`  in the file but not in the net (ignored, as Caffe does): ${weights.ignored.join(', ')}`);
          for (const v of values) out.push(`  ${v.severity}: layer '${v.layer}': ${v.message}`);
        }
        for (const l of lints) out.push(`warning: layer '${l.layer}': ${l.message}`);
        process.stdout.write(`${out.join('\n')}\n`);
      }
      if (values.some((v) => v.severity === 'error')) process.exitCode = BAD_DATA;
    });
}

function table(rows: LayerRow[]): string {
  const cells = [['name', 'type', 'bottoms -> tops', 'output', 'params', 'MACs']];
  for (const r of rows) {
    cells.push([
      r.name, r.type, `${r.bottoms.join(',')} -> ${r.tops.join(',')}`,
      r.shapes.map((s) => formatShape(s ?? undefined)).join(', '),
      r.params === null ? '?' : r.params ? r.params.toLocaleString('en') : '-',
      r.macs === null ? '?' : r.macs ? human(r.macs) : '-',
    ]);
  }
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const right = new Set([4, 5]);
  return cells.map((row) => row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}
