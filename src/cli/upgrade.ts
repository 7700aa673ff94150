// caffe-tool upgrade IN [OUT]: V0/V1 nets (text or binary) and old solvers to the current format, as Caffe's
// upgrade_net_proto_text, upgrade_net_proto_binary and upgrade_solver_proto_text do (OUT is written even when
// nothing changed); prints what changed.
import type { Command } from 'commander';
import { upgradeNet, upgradeSolver } from '../convert/upgrade/index.js';
import { CaffeToolError, usageError } from '../errors.js';
import { encodingForPath, readCaffeFile, writeCaffeFile } from '../io/files.js';
import type { Message } from '../io/message.js';
import { checkDialect } from '../io/schema.js';
import { KIND_NAMES } from '../io/sniff.js';
import { refuseOverwrite } from './common.js';

interface UpgradeOptions {
  inPlace?: boolean;
  dryRun?: boolean;
  dialect?: string;
}

export function register(program: Command): void {
  program
    .command('upgrade')
    .description('upgrade old nets (V0, V1, input fields, old BatchNorm; text or binary, weights kept bit for bit) and old solvers (solver_type) to the current format, and print each change')
    .argument('<in>', 'a net (.prototxt, or .caffemodel with weights) or a solver, in any old format')
    .argument('[out]', 'where to write the upgraded file, in the encoding IN has (optional with --in-place or --dry-run)')
    .option('--in-place', 'rewrite IN itself (atomically; an IN already current is left as it is); OUT may then be left out')
    .option('--dry-run', 'print the changes, write nothing')
    .option('--dialect <name>', 'read IN with this Caffe fork\'s schema instead of detecting it')
    .action((input: string, output: string | undefined, opts: UpgradeOptions) => {
      const out = output ?? (opts.inPlace ? input : undefined);
      if (out === undefined && !opts.dryRun) {
        throw usageError('upgrade needs OUT', 'give OUT, or --in-place to rewrite IN, or --dry-run to see the changes only');
      }
      if (out !== undefined && !opts.dryRun) refuseOverwrite(input, out, opts.inPlace);
      const dialect = opts.dialect === undefined ? undefined : checkDialect(opts.dialect);
      const file = readCaffeFile(input, { dialect });
      if (file.kind !== 'net' && file.kind !== 'solver') {
        throw new CaffeToolError(`${input} is ${KIND_NAMES[file.kind]}: there is nothing to upgrade in it`, {
          hint: 'caffe-tool upgrade reads nets (.prototxt, .caffemodel) and solvers (solver.prototxt)',
        });
      }
      if (out !== undefined && !opts.dryRun) checkOutputEncoding(input, out, file.encoding, file.kind);

      let upgraded: Message;
      let changes: string[];
      let warnings: string[];
      let what: string;
      let notes: string[] = [];
      try {
        if (file.kind === 'net') {
          const r = upgradeNet(file.message, { dialect: file.dialect });
          [upgraded, changes, warnings, notes] = [r.net, r.changes, r.warnings, r.notes];
          what = `${r.from} net (${file.encoding}, dialect ${file.dialect})`;
        } else {
          const r = upgradeSolver(file.message);
          [upgraded, changes, warnings] = [r.solver, r.changes, r.warnings];
          what = `solver (${file.encoding})`;
        }
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ file: input }) : e;
      }

      const lines: string[] = [];
      const noted = notes.map((n) => `note: ${n}`);
      if (changes.length === 0) {
        lines.push(`${input}: ${what}: already current, nothing to upgrade`, ...noted);
      } else {
        lines.push(`${input}: ${what}: ${changes.length} change${changes.length === 1 ? '' : 's'}`);
        lines.push(...changes, ...noted);
      }
      for (const w of warnings) process.stderr.write(`caffe-tool: warning: ${w}\n`);
      if (opts.dryRun || out === undefined) {
        lines.push('dry run: nothing written');
      } else if (changes.length === 0 && sameTarget(input, out, opts.inPlace)) {
        // Rewriting IN would only reprint it (its comments gone) with nothing upgraded.
        lines.push(`${input} left unchanged`);
      } else {
        // Like Caffe's upgrade_net_proto_text / upgrade_solver_proto_text, OUT is written even when nothing
        // changed: the canonical printing (field-number order, no comments), not a copy of IN.
        const result = writeCaffeFile(out, { kind: file.kind, message: upgraded, dialect: file.dialect }, file.encoding);
        for (const w of result.warnings) process.stderr.write(`caffe-tool: warning: ${w}\n`);
        const how = changes.length ? '' : ', reprinted as Caffe\'s upgrade tools write a current file';
        lines.push(`wrote ${out} (${file.encoding}, ${result.bytes} bytes${how})${warnings.length ? `, with ${warnings.length} warning${warnings.length === 1 ? '' : 's'} (Caffe: "not fully compatible")` : ''}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** upgrade writes the encoding it reads: an OUT name that says otherwise is most likely swapped files. */
function checkOutputEncoding(input: string, out: string, encoding: 'text' | 'binary', kind: 'net' | 'solver'): void {
  let wanted: 'text' | 'binary';
  try {
    wanted = encodingForPath(out);
  } catch {
    return; // an extension that says nothing: write what was read
  }
  if (wanted === encoding) return;
  if (encoding === 'binary') {
    const what = kind === 'net' ? 'a binary model (a .caffemodel: weights, with the net inside)' : 'a binary solver';
    throw new CaffeToolError(`${input} is ${what}, but ${out} names a text file: upgrade writes the encoding it reads`, {
      hint: `did you swap the model and the weights? The model definition is the text .prototxt. To get text from ${input}, upgrade it to a .caffemodel, then \`caffe-tool convert\` that`,
    });
  }
  throw new CaffeToolError(`${input} is a text ${kind === 'net' ? 'net (.prototxt)' : 'solver'}, but ${out} names a binary file: upgrade writes the encoding it reads`, {
    hint: 'did you swap the model and the weights? Name OUT .prototxt, then `caffe-tool convert` it if you want it binary',
  });
}

/** Whether OUT is IN (by path; refuseOverwrite has already allowed it only with --in-place). */
function sameTarget(input: string, out: string, inPlace?: boolean): boolean {
  if (!inPlace) return false;
  try {
    refuseOverwrite(input, out, false);
    return false;
  } catch {
    return true;
  }
}
