// caffe-tool from-matlab --model M --weights IN.mat|IN.caffemodel --out-weights W2 [--layout auto|reversed|colmajor]
// [--map MAP.json] [--transposed-training --out-model M2] [--bgr]: weights that lived in MATLAB (column-major) into
// a standard caffemodel; a net trained on transposed (or RGB) images is rewritten to take them the usual way.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Command } from 'commander';
import { fromCaffemodel, fromMat, LAYOUTS, type Layout, parseLayerMap } from '../convert/from-matlab.js';
import { applyOrientation, planOrientation, swapDefinition } from '../convert/transposed-training.js';
import { upgradeNet, upgradeNotice } from '../convert/upgrade/index.js';
import { CaffeToolError, usageError } from '../errors.js';
import { readCaffeFile, writeCaffeFile } from '../io/files.js';
import { matVersion } from '../io/mat.js';
import { readAnyMatFile } from '../io/mat73.js';
import { formatShape } from '../layers/shape.js';
import { loadNet } from '../net/load.js';
import { notice, parseInputShapes, parsePhase, refuseOverwrite } from './common.js';

interface Options {
  model?: string;
  weights?: string;
  outWeights?: string;
  outModel?: string;
  layout: string;
  map?: string;
  phase?: string;
  input?: string[];
  transposedTraining?: boolean;
  bgr?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('from-matlab')
    .description('turn weights that lived in MATLAB (a .mat file, or a .caffemodel filled from MATLAB memory) into a standard caffemodel')
    .option('--model <prototxt>', 'the net the weights belong to: every blob shape is checked against it')
    .option('--weights <file>', 'a MAT-file (v5, v7 or v7.3) with one array per blob, or a .caffemodel holding column-major blobs')
    .option('--out-weights <caffemodel>', 'the .caffemodel to write')
    .option('--layout <layout>', 'auto (from the .mat array sizes), reversed (matcaffe: W x H x C x N) or colmajor (Caffe\'s N x C x H x W order, MATLAB memory)', 'auto')
    .option('--map <json>', 'a JSON file {"conv1": ["var_w", "var_b"]} naming the variables of each layer')
    .option('--phase <phase>', 'train or test: which layers of the net to fill', 'test')
    .option('--input <name=N,C,H,W...>', 'the shape of an input or data-layer top (needed when the net cannot know it)')
    .option('--transposed-training', 'the net was trained through matcaffe on images not permute([2 1 3])-ed: swap height and width of its filters, geometry and inputs (needs --out-model when the definition changes)')
    .option('--bgr', 'the net was trained on RGB images: reverse the channels of the first convolution, so it takes Caffe\'s BGR')
    .option('--out-model <prototxt>', 'with --transposed-training: the rewritten net definition to write')
    .option('--json', 'print one JSON document')
    .action(async (opts: Options) => {
      if (!opts.model || !opts.weights || !opts.outWeights) throw usageError('from-matlab needs --model, --weights and --out-weights');
      if (!LAYOUTS.includes(opts.layout as Layout)) throw usageError(`--layout must be ${LAYOUTS.join(', ')}, not '${opts.layout}'`);
      if (opts.outModel && !opts.transposedTraining) {
        throw usageError('--out-model goes with --transposed-training: without it the net definition does not change');
      }
      refuseOverwrite(opts.model, opts.outWeights);
      refuseOverwrite(opts.weights, opts.outWeights);
      if (opts.map) refuseOverwrite(opts.map, opts.outWeights);
      if (opts.outModel) {
        for (const f of [opts.model, opts.weights, opts.map]) if (f) refuseOverwrite(f, opts.outModel);
        if (opts.outModel === opts.outWeights) throw usageError('--out-model and --out-weights name the same file');
      }
      const layout = opts.layout as Layout;
      const { net, param } = loadNet(opts.model, { phase: parsePhase(opts.phase), inputs: parseInputShapes(opts.input), notice });
      const isMat = sniffMat(opts.weights);
      const map = isMat && opts.map ? parseLayerMap(readText(opts.map), opts.map) : undefined;
      let result;
      let dialect = net.dialect;
      try {
        if (isMat) {
          result = fromMat(net, param, await readAnyMatFile(opts.weights), { layout, map });
        } else {
          if (opts.map) throw usageError('--map names MAT-file variables; a .caffemodel is matched by layer name');
          const file = readCaffeFile(opts.weights, { kinds: ['net'], encoding: 'binary' });
          const upgraded = upgradeNet(file.message, { dialect: file.dialect });
          const n = upgradeNotice(opts.weights, upgraded);
          if (n) notice(n);
          dialect = file.dialect;
          if (layout === 'colmajor') {
            notice(`--layout colmajor transposes every blob of ${opts.weights}: right for Caffe-shaped blobs over MATLAB's column-major memory, wrong for a file matcaffe's net.save wrote (that one is already standard)`);
          }
          result = fromCaffemodel(net, upgraded.net, { layout });
        }
      } catch (e) {
        throw e instanceof CaffeToolError && !e.where.file ? e.within({ file: opts.weights }) : e;
      }
      // --transposed-training / --bgr: checked on the net as loaded, applied to the converted blobs.
      let changes: string[] = [];
      let notes: string[] = [];
      let newModel;
      if (opts.transposedTraining || opts.bgr) {
        const plan = planOrientation(net, { transposed: !!opts.transposedTraining, bgr: !!opts.bgr });
        notes = plan.notes;
        result = { ...result, message: applyOrientation(result.message, plan) };
        if (opts.transposedTraining) {
          const swapped = swapDefinition(param);
          changes = swapped.changes;
          if (changes.length && !opts.outModel) {
            throw usageError(`--transposed-training changes the net definition (${changes.slice(0, 3).join('; ')}${changes.length > 3 ? `; ${changes.length - 3} more` : ''})`,
              'give --out-model M2.prototxt for the rewritten definition: the new weights only fit it');
          }
          newModel = swapped.message;
        }
      }
      if (opts.outModel && newModel) {
        const w = writeCaffeFile(opts.outModel, { kind: 'net', message: newModel, dialect: net.dialect }, 'text');
        for (const m of w.warnings) process.stderr.write(`caffe-tool: warning: ${m}\n`);
      }
      const written = writeCaffeFile(opts.outWeights, { kind: 'net', message: result.message, dialect }, 'binary');
      for (const w of written.warnings) process.stderr.write(`caffe-tool: warning: ${w}\n`);
      if (result.missing.length) notice(`not in ${opts.weights} (left without weights): ${result.missing.join(', ')}`);
      if (result.unused.length) notice(`in ${opts.weights} but used by no layer of the net: ${result.unused.join(', ')}`);
      if (opts.json) {
        const orientation = opts.transposedTraining || opts.bgr ? { model: opts.outModel ?? null, changes, notes } : undefined;
        process.stdout.write(`${JSON.stringify({ output: opts.outWeights, bytes: written.bytes, layers: result.layers, missing: result.missing, unused: result.unused, ...(orientation ? { orientation } : {}) }, null, 2)}\n`);
        return;
      }
      const lines = [`${opts.outWeights}: ${result.layers.length} layers converted from ${isMat ? 'a MAT-file' : layout === 'colmajor' ? 'a column-major caffemodel' : 'a caffemodel with matcaffe\'s reversed shapes'}, ${written.bytes} bytes`];
      for (const l of result.layers) {
        const blobs = l.blobs.map((b) => `${b.role} ${b.source} ${formatShape(b.sourceDims)} -> ${formatShape(b.shape)} (${b.reading}${b.inferred ? ', as the file\'s other blobs' : ''})`);
        lines.push(`  ${l.name}: ${blobs.join(', ')}`);
      }
      if (opts.outModel) lines.push(`${opts.outModel}: the net definition with height and width swapped${changes.length ? '' : ' (nothing in it depends on them)'}`);
      for (const c of [...changes, ...notes]) lines.push(`  ${c}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function sniffMat(path: string): boolean {
  const head = Buffer.alloc(1024);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CaffeToolError(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: e });
  }
  return matVersion(head.subarray(0, n)) !== undefined || /\.mat$/i.test(path);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CaffeToolError(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: e });
  }
}
