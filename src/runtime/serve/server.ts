// The HTTP server (Node's own node:http, no framework): the Open Inference Protocol routes, the image
// endpoint, /metrics and the web page; every model behind its own batcher; a graceful close.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { usageError } from '../../errors.js';
import type { Device } from '../session.js';
import { QueueFullError } from './batcher.js';
import { classifyImage, parseTop } from './classify.js';
import { HttpError, readBody, sendBytes, sendJson } from './http.js';
import { METRICS_CONTENT_TYPE, ServeMetrics } from './metrics.js';
import { loadServedModel, type ServedModel, type ServedSource } from './models.js';
import { renderPage } from './page.js';
import { EXTENSIONS, inferResponse, modelMetadata, parseInferRequest, SERVER_NAME } from './protocol.js';

export interface ServeOptions {
  models: ServedSource[];
  host?: string;
  /** 0 picks a free port; the handle's url says which. */
  port?: number;
  device?: Device;
  shapes?: Record<string, number[]>;
  maxBatch?: number;
  maxDelayMs?: number;
  maxQueue?: number;
  maxBody?: number;
  notice?: (message: string) => void;
}

export interface ServerHandle {
  url: string;
  models: ServedModel[];
  metrics: ServeMetrics;
  /** Stop accepting, finish what is in flight, release the sessions. */
  close(): Promise<void>;
}

export const SERVE_DEFAULTS = { host: '127.0.0.1', port: 8080, maxBatch: 8, maxDelayMs: 2, maxQueue: 64, maxBody: 64 * 1024 * 1024 };
/** The package's version, for GET /v2 (package.json sits four folders above dist/src/runtime/serve/). */
const VERSION = (createRequire(import.meta.url)('../../../../package.json') as { version: string }).version;
/** Seconds a client told "queue full" should wait before trying again. */
const RETRY_AFTER_S = 1;

interface Route {
  endpoint: string;
  model: string;
}

export async function startServer(options: ServeOptions): Promise<ServerHandle> {
  const o = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ServeOptions & typeof SERVE_DEFAULTS;
  const metrics = new ServeMetrics();
  const models = new Map<string, ServedModel>();
  try {
    for (const source of o.models) {
      const m = await loadServedModel(source, {
        device: o.device, shapes: o.shapes, notice: o.notice,
        batching: { maxBatch: o.maxBatch, maxDelayMs: o.maxDelayMs, maxQueue: o.maxQueue },
        onBatch: (model, items) => metrics.batchSize.observe({ model }, items),
        onQueueDepth: (model, depth) => metrics.queueDepth.set({ model }, depth),
      });
      if (models.has(m.name)) {
        await m.release();
        throw usageError(`two models are named '${m.name}': give each its own name`);
      }
      models.set(m.name, m);
      metrics.queueDepth.set({ model: m.name }, 0);
    }
  } catch (e) {
    await Promise.all([...models.values()].map((m) => m.release()));
    throw e;
  }
  const page = renderPage([...models.values()].map((m) => ({ name: m.name, task: m.task })));

  let closing = false;
  let active = 0;
  let idle: (() => void) | undefined;

  const server = createServer((req, res) => {
    active++;
    const start = performance.now();
    const route: Route = { endpoint: 'unknown', model: '' };
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      metrics.requests.inc({ model: route.model, endpoint: route.endpoint, status: String(res.statusCode) });
      metrics.latency.observe({ model: route.model, endpoint: route.endpoint }, (performance.now() - start) / 1000);
      if (--active === 0) idle?.();
    });
    handle(req, res, route).catch((e: unknown) => answerError(req, res, e));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, route: Route): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://server');
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, `the path ${url.pathname} is not valid percent-encoding`);
    }
    const path = parts.join('/');
    const only = (method: string) => {
      if (req.method !== method) throw new HttpError(405, `${req.method} ${url.pathname}: use ${method}`, { Allow: method });
    };

    if (path === '') {
      route.endpoint = 'page';
      only('GET');
      return sendBytes(res, 200, 'text/html; charset=utf-8', page);
    }
    if (path === 'metrics') {
      route.endpoint = 'metrics';
      only('GET');
      return sendBytes(res, 200, METRICS_CONTENT_TYPE, metrics.render());
    }
    if (path === 'v2') {
      route.endpoint = 'server_metadata';
      only('GET');
      return sendJson(res, 200, { name: SERVER_NAME, version: VERSION, extensions: EXTENSIONS });
    }
    if (path === 'v2/health/live' || path === 'v2/health/ready') {
      const live = path.endsWith('live');
      route.endpoint = live ? 'health_live' : 'health_ready';
      only('GET');
      return sendJson(res, 200, live ? { live: true } : { ready: !closing });
    }
    // v2/models/{name}[/versions/{v}][/ready|/infer|/classify]
    if (parts[0] !== 'v2' || parts[1] !== 'models' || parts.length < 3) throw new HttpError(404, `no endpoint at ${url.pathname}`);
    const name = parts[2];
    let rest = parts.slice(3);
    const model = models.get(name);
    if (!model) {
      const known = [...models.keys()].map((k) => `'${k}'`).join(', ');
      throw new HttpError(404, `unknown model '${name}': this server has ${known}`);
    }
    route.model = name;
    if (rest[0] === 'versions') {
      if (rest.length < 2) throw new HttpError(404, `no endpoint at ${url.pathname}: give /versions/${model.version}`);
      if (rest[1] !== model.version) throw new HttpError(404, `the model '${name}' has no version '${rest[1]}': it has version ${model.version}`);
      rest = rest.slice(2);
    }
    const action = rest.join('/');
    if (action === '') {
      route.endpoint = 'model_metadata';
      only('GET');
      return sendJson(res, 200, modelMetadata(model));
    }
    if (action === 'ready') {
      route.endpoint = 'model_ready';
      only('GET');
      return sendJson(res, 200, { name, ready: !closing });
    }
    if (action === 'infer') {
      route.endpoint = 'infer';
      only('POST');
      const body = await readBody(req, o.maxBody);
      const header = req.headers['inference-header-content-length'];
      const request = parseInferRequest(body, Array.isArray(header) ? header[0] : header, model, o.maxBatch);
      const results = await model.batcher.submit(request.inputs);
      const { json, binary } = inferResponse(model, request, results);
      if (!binary.length) return sendBytes(res, 200, 'application/json', json);
      return sendBytes(res, 200, 'application/octet-stream', Buffer.concat([json, ...binary]), { 'Inference-Header-Content-Length': String(json.length) });
    }
    if (action === 'classify') {
      route.endpoint = 'classify';
      only('POST');
      const top = parseTop(url.searchParams.get('top'));
      const body = await readBody(req, o.maxBody);
      const png = /\bimage\/png\b/.test(req.headers.accept ?? '');
      const answer = await classifyImage(model, body, { top, png });
      if (answer.kind === 'png') return sendBytes(res, 200, 'image/png', answer.png);
      return sendJson(res, 200, answer.body);
    }
    throw new HttpError(404, `no endpoint at ${url.pathname}: a model has /ready, /infer and /classify`);
  }

  function answerError(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status = 500;
    let message: string;
    let headers: Record<string, string> = {};
    if (e instanceof HttpError) [status, message, headers] = [e.status, e.message, e.headers];
    else if (e instanceof QueueFullError) [status, message, headers] = [503, e.message, { 'Retry-After': String(RETRY_AFTER_S) }];
    else {
      message = `the server failed: ${(e as Error)?.message ?? e}`;
      o.notice?.(`${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
    }
    // A body that was not read to its end (over --max-body, or refused before reading): answer, then close
    // the connection instead of reading the rest.
    const unread = !req.complete;
    if (unread) headers = { ...headers, Connection: 'close' };
    sendJson(res, status, { error: message }, headers);
    if (unread) res.once('finish', () => req.socket.destroySoon());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    models: [...models.values()],
    metrics,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all([...models.values()].map((m) => m.batcher.drain()));
        if (active > 0) await new Promise<void>((resolve) => (idle = resolve));
        server.closeAllConnections();
        await stopped;
        await Promise.all([...models.values()].map((m) => m.release()));
      })();
      return closed;
    },
  };
}
