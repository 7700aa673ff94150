// caffe-tool plot-log LOG -o curves.png|.svg: train loss, test outputs and learning rate from a Caffe log (glog
// lines, as Caffe and caffe-tool train write them) or caffe-tool train --log-json; --csv writes parse_log.py's tables.
import type { Command } from 'commander';
import { basename, extname } from 'node:path';
import { usageError } from '../errors.js';
import { writeAll, writeAtomic } from '../io/atomic.js';
import { readLog, tableCsv } from '../train/log-parse.js';
import { renderFigure, type XAxis } from '../train/plot.js';
import { refuseOverwrite } from './common.js';

interface Options {
  output?: string;
  x: string;
  csv?: string;
}

export function register(program: Command): void {
  program
    .command('plot-log')
    .description('plot a training log (Caffe\'s own or caffe-tool train --log-json): train loss, test outputs, learning rate')
    .argument('<log>', 'the log: Caffe\'s stderr / caffe.INFO, or a --log-json file')
    .option('-o, --output <file>', 'the figure to write: .png or .svg')
    .option('--x <axis>', 'the x axis: iter or seconds', 'iter')
    .option('--csv <file.csv>', 'also write the train and test tables as parse_log.py does, to FILE.train.csv and FILE.test.csv')
    .action(async (logPath: string, opts: Options) => {
      if (!opts.output && !opts.csv) throw usageError('plot-log needs -o curves.png (or .svg), or --csv', 'for example: caffe-tool plot-log caffe.INFO -o curves.png');
      const format = opts.output ? extname(opts.output).toLowerCase() : undefined;
      if (format !== undefined && format !== '.png' && format !== '.svg') throw usageError(`-o must end in .png or .svg, not '${basename(opts.output!)}'`);
      if (opts.x !== 'iter' && opts.x !== 'seconds') throw usageError(`--x must be iter or seconds, not '${opts.x}'`);
      const csvPaths = opts.csv ? csvNames(opts.csv) : undefined;
      for (const out of [opts.output, ...(csvPaths ?? [])]) if (out) refuseOverwrite(logPath, out);

      const log = readLog(logPath);
      const lines = [`${logPath}: ${log.format === 'json' ? 'caffe-tool --log-json' : 'Caffe log'}: ${describe(log.train, 'train rows')}, ${describe(log.test, 'tests')}, ${log.lr.length} learning rates`];
      if (opts.output) {
        const { bytes, width, height } = await renderFigure(log, { x: opts.x as XAxis, title: basename(logPath), format: format === '.png' ? 'png' : 'svg' });
        writeAtomic(opts.output, (fd) => writeAll(fd, bytes));
        lines.push(`wrote ${opts.output} (${width}x${height})`);
      }
      if (csvPaths) {
        const tables = [log.train, log.test];
        csvPaths.forEach((path, i) => {
          if (!tables[i].length) return lines.push(`no ${i ? 'test' : 'train'} rows: ${path} not written`);
          writeAtomic(path, (fd) => writeAll(fd, Buffer.from(tableCsv(tables[i]))));
          lines.push(`wrote ${path} (${tables[i].length} rows)`);
        });
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** `OUT.csv` -> OUT.train.csv and OUT.test.csv. */
function csvNames(path: string): [string, string] {
  const stem = path.toLowerCase().endsWith('.csv') ? path.slice(0, -4) : path;
  return [`${stem}.train.csv`, `${stem}.test.csv`];
}

function describe(rows: { iter: number }[], what: string): string {
  if (!rows.length) return `0 ${what}`;
  return `${rows.length} ${what} (iterations ${rows[0].iter}-${rows[rows.length - 1].iter})`;
}
