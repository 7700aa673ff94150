// bench/serve: `caffe-tool serve` under load from a second process (Debian's wrk, POSTing a KServe v2 infer
// request with the binary tensor extension) against the same model's session called in-process in a loop, at
// the same concurrency. Prints requests/s and p50/p99 latency for both, the ratio served/in-process, the
// server's mean batch size (from /metrics), and the server's RSS before and after a run of --requests requests.
// Target: at concurrency 8 the server gives at least 0.9 of in-process throughput, with no errors, and its
// memory stays flat.
//   npm run bench:serve [-- --net resnet50|mobilenet] [--seconds 10] [--requests 10000] [--concurrency 1,8,32]
// Needs /usr/bin/wrk (Debian's wrk).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCaffeFile } from '../src/io/files.js';
import { count } from '../src/layers/shape.js';
import { loadNet } from '../src/net/load.js';
import { fillRandomWeights } from '../src/net/weights.js';
import { openModel } from '../src/runtime/model.js';
import { runSession } from '../src/runtime/session.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const WRK = '/usr/bin/wrk';
const NETS: Record<string, { label: string; prototxt: string }> = {
  resnet50: { label: 'ResNet-50', prototxt: 'fixtures/nets/resnet50_deploy.prototxt' },
  mobilenet: { label: 'MobileNet v1', prototxt: 'fixtures/nets/mobilenet_deploy.prototxt' },
};
const MAX_BATCH = 8;
const MAX_DELAY_MS = 2;

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

interface Load {
  requests: number;
  seconds: number;
  errors: number;
  p50ms: number;
  p99ms: number;
}

const perSecond = (l: Load) => l.requests / l.seconds;

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** wrk's Lua script: POST the body file; print the summary on one line. */
function wrkScript(bodyFile: string, headerLength: number): string {
  return `local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = "${headerLength}"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`;
}

function runWrk(url: string, script: string, concurrency: number, seconds: number): Load {
  const threads = Math.min(concurrency, 2);
  const r = spawnSync(WRK, ['-t', String(threads), '-c', String(concurrency), '-d', `${seconds}s`, '--timeout', '60s', '-s', script, url], { encoding: 'utf8' });
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`wrk failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const [requests, us, errors, p50, p99] = m.slice(1).map(Number);
  return { requests, seconds: us / 1e6, errors, p50ms: p50 / 1000, p99ms: p99 / 1000 };
}

/** `concurrency` callers each running the session on one item, back to back, for `seconds`. */
async function inProcess(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, seconds: elapsed, errors, p50ms: percentile(latencies, 50), p99ms: percentile(latencies, 99) };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)\n/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${err}`)));
  });
}

/** Mean items per session call, from the server's Prometheus histogram. */
async function meanBatch(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = /^caffe_tool_batch_size_sum\{[^}]*\} (\S+)$/m.exec(text);
  const n = /^caffe_tool_batch_size_count\{[^}]*\} (\S+)$/m.exec(text);
  return sum && n ? Number(sum[1]) / Number(n[1]) : NaN;
}

async function main(): Promise<void> {
  if (!existsSync(WRK)) throw new Error(`${WRK} is missing: apt-get install wrk`);
  const key = flag('net', 'resnet50');
  const net = NETS[key];
  if (!net) throw new Error(`--net must be one of ${Object.keys(NETS).join(', ')}`);
  const seconds = Number(flag('seconds', '10'));
  const total = Number(flag('requests', '10000'));
  const levels = flag('concurrency', '1,8,32').split(',').map(Number);

  const dir = mkdtempSync(join(tmpdir(), 'caffe-tool-bench-serve-'));
  let server: ChildProcess | undefined;
  try {
    // Random weights (seed 1) written as a .caffemodel: the server reads files, as a user's would.
    const prototxt = join(ROOT, net.prototxt);
    const { net: built } = loadNet(prototxt, { phase: 'TEST' });
    fillRandomWeights(built, 1);
    const weights = join(dir, `${key}.caffemodel`);
    writeCaffeFile(weights, { kind: 'net', dialect: built.dialect, message: { name: built.name, layer: built.layers.filter((l) => l.weights).map((l) => ({ name: l.name, type: l.type, blobs: l.weights })) } }, 'binary');

    const model = await openModel({ model: prototxt, weights, dynamicBatch: true });
    const input = model.inputs[0];
    const dims = [1, ...input.shape.slice(1).map(Number)];
    const x = Float32Array.from({ length: count(dims) }, (_, i) => Math.sin(i * 0.37));
    const feeds = { [input.name]: { data: x, dims } };
    const output = model.outputs[0];

    // The KServe v2 binary tensor extension: a JSON header, then the raw little-endian FP32 bytes.
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: input.name, shape: dims, datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
      outputs: [{ name: output, parameters: { binary_data: true } }],
    }));
    const bodyFile = join(dir, 'body.bin');
    writeFileSync(bodyFile, Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]));
    const script = join(dir, 'load.lua');
    writeFileSync(script, wrkScript(bodyFile, header.length));

    const started = await startServer([
      '--model', prototxt, '--weights', weights, '--name', key, '--port', '0',
      '--max-batch', String(MAX_BATCH), '--max-delay-ms', String(MAX_DELAY_MS), '--max-queue', '256',
    ]);
    server = started.child;
    const inferUrl = `${started.url}/v2/models/${key}/infer`;
    // Check the answer once: the same numbers as in-process.
    const res = await fetch(inferUrl, {
      method: 'POST', body: readFileSync(bodyFile), headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
    });
    const answer = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    if (res.status !== 200 || !(jsonLength > 0)) throw new Error(`the server answered ${res.status}: ${answer.subarray(0, 500).toString()}`);
    const tail = answer.subarray(jsonLength);
    const served = new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.length));
    const local = (await runSession(model.session, feeds))[output].data;
    let diff = 0;
    for (let i = 0; i < local.length; i++) diff = Math.max(diff, Math.abs(local[i] - served[i]));

    process.stdout.write(
      `${net.label} (random weights), input ${dims.join('x')}, ${availableParallelism()} CPUs; server --max-batch ${MAX_BATCH} --max-delay-ms ${MAX_DELAY_MS}; ` +
        `${seconds} s per level; served answer vs in-process: max |diff| ${diff.toExponential(2)}\n`,
    );
    // Warm both sides up.
    runWrk(inferUrl, script, 8, 2);
    for (let i = 0; i < 3; i++) await runSession(model.session, feeds);

    process.stdout.write('concurrency | served req/s  p50 ms  p99 ms errors | in-process req/s  p50 ms  p99 ms | served/in-process\n');
    let errors = 0;
    let at8: number | undefined;
    let served8: Load | undefined;
    for (const c of levels) {
      const s = runWrk(inferUrl, script, c, seconds);
      const p = await inProcess(() => runSession(model.session, feeds), c, seconds);
      errors += s.errors + p.errors;
      const ratio = perSecond(s) / perSecond(p);
      if (c === 8) [at8, served8] = [ratio, s];
      process.stdout.write(
        `${String(c).padStart(11)} | ${perSecond(s).toFixed(1).padStart(12)} ${s.p50ms.toFixed(1).padStart(7)} ${s.p99ms.toFixed(1).padStart(7)} ${String(s.errors).padStart(6)} | ` +
          `${perSecond(p).toFixed(1).padStart(16)} ${p.p50ms.toFixed(1).padStart(7)} ${p.p99ms.toFixed(1).padStart(7)} | ${ratio.toFixed(2).padStart(17)}\n`,
      );
    }
    process.stdout.write(`server mean batch size so far: ${(await meanBatch(started.url)).toFixed(2)}\n`);

    // Memory over `total` requests at concurrency 8, in four runs with the server's RSS after each: growth that
    // stops is ONNX Runtime's arena settling, growth that goes on is a leak. wrk runs for a duration, not a
    // count: each run is sized from the rate measured at concurrency 8, and the counts reached are printed.
    const rate8 = Math.max(perSecond(served8 ?? runWrk(inferUrl, script, 8, seconds)), 0.1);
    const rss = [rssMiB(server.pid!)];
    let done = 0;
    for (let part = 0; part < 4; part++) {
      const l = runWrk(inferUrl, script, 8, Math.max(1, Math.ceil((total * 1.05) / 4 / rate8)));
      done += l.requests;
      errors += l.errors;
      rss.push(rssMiB(server.pid!));
      process.stdout.write(
        `  ${String(done).padStart(6)} requests: ${perSecond(l).toFixed(1)} req/s, p50 ${l.p50ms.toFixed(1)} ms, p99 ${l.p99ms.toFixed(1)} ms, ${l.errors} errors; server RSS ${rss[rss.length - 1].toFixed(1)} MiB\n`,
      );
    }
    const growth = (a: number, b: number) => `${b - a >= 0 ? '+' : ''}${(b - a).toFixed(1)} MiB`;
    process.stdout.write(
      `server RSS over ${done} requests: ${rss[0].toFixed(1)} MiB before, ${rss[4].toFixed(1)} MiB after (${growth(rss[0], rss[4])}; ` +
        `over the last three quarters ${growth(rss[1], rss[4])})\n`,
    );
    const verdict = at8 === undefined ? 'concurrency 8 not measured' : `served/in-process at concurrency 8: ${at8.toFixed(2)} (target >= 0.90: ${at8 >= 0.9 ? 'met' : 'NOT met'})`;
    process.stdout.write(`${verdict}; errors: ${errors}\n`);
    await model.session.release();
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench/serve: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
