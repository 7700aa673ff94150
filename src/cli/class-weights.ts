// caffe-tool class-weights --source list.txt: class weights from the label images of a DenseImageData list,
// printed as the class_weighting lines a SegNet/ENet loss layer takes.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { countLabels, inverseFrequencyWeights, medianFrequencyWeights } from '../train/data/class-weights.js';

interface Options {
  source: string;
  rootFolder?: string;
  classes?: string;
  ignoreLabel?: string;
  method: string;
}

function whole(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw usageError(`${name} takes a whole number${min > 0 ? ` of at least ${min}` : ''}, not '${v}'`);
  return Number(v);
}

export function register(program: Command): void {
  program
    .command('class-weights')
    .description('count the label pixels of a DenseImageData list and print class_weighting lines for the loss layer')
    .requiredOption('--source <list>', 'the DenseImageData list: "image label_image" per line')
    .option('--root-folder <dir>', 'prefix of the listed paths (dense_image_data_param.root_folder)')
    .option('--classes <n>', 'the number of classes (default: the largest label found, plus one)')
    .option('--ignore-label <l>', 'a void label whose pixels are not counted')
    .option('--method <m>', 'median (median-frequency balancing, SegNet) or inverse (the two-class inverse-frequency rule)', 'median')
    .action(async (opts: Options) => {
      if (opts.method !== 'median' && opts.method !== 'inverse') throw usageError(`--method is median or inverse, not '${opts.method}'`);
      const classes = whole('--classes', opts.classes, 1);
      const ignoreLabel = whole('--ignore-label', opts.ignoreLabel, -Infinity);
      const counts = await countLabels(opts.source, {
        resolve: (p) => (isAbsolute(p) ? p : resolve(p)),
        rootFolder: opts.rootFolder,
        classes,
        ignoreLabel,
      });
      const weights = opts.method === 'median' ? medianFrequencyWeights(counts) : inverseFrequencyWeights(counts);
      const rule = opts.method === 'median'
        ? 'median-frequency balancing: weight = median(freq) / freq(c), freq(c) = pixels of c / pixels of the images where c appears'
        : 'two-class inverse frequency: weight = min(freq) / freq(c), freq(c) = pixels of c / all pixels';
      const out = [
        `# ${counts.files} label images of ${opts.source}${ignoreLabel !== undefined ? `, label ${ignoreLabel} ignored` : ''}`,
        `# ${rule}`,
        '# paste into the loss layer: loss_param { weight_by_label_freqs: true class_weighting: ... }',
      ];
      weights.forEach((w, c) => {
        const n = counts.pixels[c];
        out.push(`class_weighting: ${Number(w.toPrecision(6))}  # class ${c}: ${n} pixels in ${counts.images[c]} images${n ? '' : ' (never appears: weight 0)'}`);
      });
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
