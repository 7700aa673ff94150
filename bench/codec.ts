// bench/codec: a VGG16-sized caffemodel (138 M floats), built here, then timed side by side in fresh
// processes: reading the bytes alone (the baseline), caffe-tool's decode, protobufjs's generic decode of
// the same file, and caffe-tool's encode. Prints times, peak memory, and the ratios the targets are set on.
//   npm run bench:codec [-- --runs N] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { readCaffeFile, writeCaffeFile } from '../src/io/files.js';
import type { Message } from '../src/io/message.js';
import { vgg16 } from './vgg16.js';

const HERE = fileURLToPath(import.meta.url);
const PROTO = fileURLToPath(new URL('../../proto/caffe.proto', import.meta.url));

interface Sample {
  ms: number;
  peakBytes: number;
}

/** One measurement in a fresh process; peak memory is its max RSS minus its RSS before the work. */
function worker(op: string, path: string): Sample {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  if (op === 'read') {
    const b = readFileSync(path);
    if (b.length === 0) throw new Error('empty');
  } else if (op === 'decode') {
    const f = readCaffeFile(path);
    if (!(f.message.layer as Message[]).length) throw new Error('no layers');
  } else if (op === 'protobufjs') {
    const Net = protobuf.loadSync(PROTO).lookupType('caffe.NetParameter');
    const m = Net.decode(readFileSync(path)) as unknown as { layer: unknown[] };
    if (!m.layer.length) throw new Error('no layers');
  } else if (op === 'encode') {
    const f = readCaffeFile(path);
    const start = performance.now();
    const beforeEncode = process.memoryUsage().rss;
    writeCaffeFile(`${path}.out.caffemodel`, f, 'binary');
    const ms = performance.now() - start;
    rmSync(`${path}.out.caffemodel`);
    return { ms, peakBytes: process.resourceUsage().maxRSS * 1024 - beforeEncode };
  }
  const ms = performance.now() - t0;
  return { ms, peakBytes: process.resourceUsage().maxRSS * 1024 - before };
}

function measure(op: string, path: string, runs: number): Sample {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--max-old-space-size=16384', HERE, '--worker', op, path], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout) as Sample);
  }
  samples.sort((a, b) => a.ms - b.ms);
  return samples[Math.floor(samples.length / 2)];
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') {
    process.stdout.write(JSON.stringify(worker(args[1], args[2])));
    return;
  }
  const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
  const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-bench-'));
  const path = join(dir, 'vgg16.caffemodel');
  try {
    const { net, floats } = vgg16(true);
    writeCaffeFile(path, { kind: 'net', dialect: 'bvlc', message: net }, 'binary');
    const size = statSync(path).size;
    console.log(`VGG16-sized caffemodel: ${floats.toLocaleString('en')} floats, ${(size / 2 ** 20).toFixed(1)} MiB; median of ${runs} runs`);
    const read = measure('read', path, runs);
    const decode = measure('decode', path, runs);
    const encode = measure('encode', path, runs);
    const generic = measure('protobufjs', path, 1);
    const row = (name: string, s: Sample) =>
      console.log(`  ${name.padEnd(28)} ${s.ms.toFixed(0).padStart(7)} ms   peak +${(s.peakBytes / 2 ** 20).toFixed(0).padStart(5)} MiB (${(s.peakBytes / size).toFixed(2)}x file)`);
    row('read the bytes (baseline)', read);
    row('caffe-tool decode', decode);
    row('protobufjs generic decode', generic);
    row('caffe-tool encode (to file)', encode); // peak: beyond the decoded model it writes from
    const ratio = (x: number, target: string, ok: boolean) => `${x.toFixed(2)}x   target ${target}: ${ok ? 'met' : 'MISSED'}`;
    console.log('ratios:');
    console.log(`  decode / read bytes         ${ratio(decode.ms / read.ms, '<= 1.5x', decode.ms / read.ms <= 1.5)}`);
    console.log(`  protobufjs / decode         ${ratio(generic.ms / decode.ms, '>= 20x', generic.ms / decode.ms >= 20)}`);
    console.log(`  decode peak / file size     ${ratio(decode.peakBytes / size, '< 1.3x', decode.peakBytes / size < 1.3)}`);
    console.log(`  encode / read bytes         ${(encode.ms / read.ms).toFixed(2)}x`);
  } finally {
    if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

main();
