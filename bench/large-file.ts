// bench/large-file: a caffemodel over 2 GiB (Node cannot hold it in one Buffer, Caffe cannot read it) is
// written and read back by streaming, and its values checked. Prints the times against copying the file
// with cat, measured in the same run. Needs ~6 GiB of memory and disk.  node dist/bench/large-file.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobData } from '../src/io/blob.js';
import { readCaffeFile, writeCaffeFile } from '../src/io/files.js';
import type { Message } from '../src/io/message.js';

const FLOATS = 600_000_000; // one 2.4 GB blob

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-large-'));
  const path = join(dir, 'large.caffemodel');
  try {
    const data = new Float32Array(FLOATS);
    for (let i = 0; i < FLOATS; i += 4096) data[i] = i % 1000;
    const net: Message = { name: 'large', layer: [{ name: 'fc', type: 'InnerProduct', blobs: [{ shape: { dim: [FLOATS] }, data }] }] };
    let t = performance.now();
    const written = writeCaffeFile(path, { kind: 'net', dialect: 'bvlc', message: net }, 'binary');
    const writeMs = performance.now() - t;
    for (const w of written.warnings) console.log(`warning, as expected: ${w}`);
    const size = statSync(path).size;
    t = performance.now();
    spawnSync('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
    const catMs = performance.now() - t;
    t = performance.now();
    const back = readCaffeFile(path).message;
    const readMs = performance.now() - t;
    const got = blobData(((back.layer as Message[])[0].blobs as Message[])[0]);
    let bad = got.length === FLOATS ? 0 : 1;
    for (let i = 0; i < FLOATS && !bad; i += 4096) if (got[i] !== i % 1000 || got[i + 1] !== 0) bad++;
    console.log(`${(size / 2 ** 30).toFixed(2)} GiB caffemodel, values ${bad ? 'WRONG' : 'checked'}`);
    console.log(`  write ${writeMs.toFixed(0)} ms, read+decode ${readMs.toFixed(0)} ms, cat ${catMs.toFixed(0)} ms (baseline)`);
    console.log(`  decode / cat: ${(readMs / catMs).toFixed(2)}x`);
    if (bad) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
