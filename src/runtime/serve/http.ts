// The HTTP plumbing the routes share: errors that become `{"error": "..."}` answers, a body reader that
// stops at --max-body, and the JSON answer.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the server refuses: the status and what was wrong, for the client. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * The whole request body, up to maxBytes. Over the limit (by Content-Length, or while reading) it stops
 * reading and throws 413; the caller closes the connection after answering, so the rest is never read.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(Number(declared), maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(tooLarge(size, maxBytes, true));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new HttpError(400, 'the client closed the connection before the body ended'));
    });
  });
}

function tooLarge(size: number, max: number, partial = false): HttpError {
  const what = partial ? 'the body goes' : `the body is ${size} bytes,`;
  return new HttpError(413, `${what} over the server's limit of ${max} bytes (--max-body)`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendBytes(res, status, 'application/json', JSON.stringify(body), headers);
}

export function sendBytes(res: ServerResponse, status: number, type: string, bytes: Uint8Array | string, headers: Record<string, string> = {}): void {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(body.length), ...headers });
  res.end(body);
}
