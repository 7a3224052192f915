import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { EparaError } from '@epara/core';
import { RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import type { InferCore } from '../inference/infer-core.js';
import { DEADLINE_HEADER, PRIORITY_HEADER } from '../protocol/request-controls.js';
import { RequestSignal } from '../protocol/request-signal.js';
import { beginRequestTrace } from '../protocol/request-trace.js';
import { HEADER_LENGTH, encodeInferResponse, parseInferBody } from './infer-body.js';

/** `/v2/models/{name}/infer` and `/v2/models/{name}/versions/{version}/infer` (no query string). */
const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;

const JSON_TYPE = 'application/json; charset=utf-8';

/** The model name and version of an infer URL, or `undefined` when the URL is not one (or not decodable). */
export function matchInferPath(url: string): { readonly name: string; readonly version: string | undefined } | undefined {
  const q = url.indexOf('?');
  const m = INFER_PATH.exec(q < 0 ? url : url.slice(0, q));
  if (!m) return undefined;
  try {
    return { name: decodeURIComponent(m[1]!), version: m[2] === undefined ? undefined : decodeURIComponent(m[2]) };
  } catch {
    return undefined; // malformed %-encoding: the router answers it
  }
}

/**
 * The protocol's infer route on plain node:http, the hot path of the HTTP front (health, metadata and
 * everything else go through the router). The body is read into one buffer sized by `Content-Length` (grown
 * only for a chunked body), parsed once, and the answer is written with a single `end(buffer)`.
 */
export class InferRoute {
  readonly #core: InferCore;
  readonly #maxBodyBytes: number;
  /** Inference requests taken, and those answered (response written). */
  accepted = 0;
  answered = 0;

  constructor(core: InferCore, maxBodyBytes: number) {
    this.#core = core;
    this.#maxBodyBytes = maxBodyBytes;
  }

  /** Takes the request when it is `POST` on an infer URL; returns whether it did. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const path = matchInferPath(req.url ?? '');
    if (!path) return false;
    this.accepted++;
    const declared = req.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > this.#maxBodyBytes) {
      this.#tooLarge(req, res);
      return true;
    }
    let body = Buffer.allocUnsafe(length ?? 0);
    let filled = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      if (filled + chunk.length > body.length) {
        if (filled + chunk.length > this.#maxBodyBytes) {
          failed = true;
          this.#tooLarge(req, res);
          return;
        }
        const grown = Buffer.allocUnsafe(Math.max(filled + chunk.length, Math.min(this.#maxBodyBytes, body.length * 2)));
        body.copy(grown, 0, 0, filled);
        body = grown;
      }
      chunk.copy(body, filled);
      filled += chunk.length;
    });
    req.on('end', () => {
      if (!failed) void this.#infer(req, res, body.subarray(0, filled), path.name, path.version);
    });
    return true;
  }

  async #infer(req: IncomingMessage, res: ServerResponse, body: Buffer, name: string, version: string | undefined): Promise<void> {
    const abort = new RequestSignal();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    const trace = beginRequestTrace((h) => header(req, h), name);
    try {
      if (body.length === 0) throw new EparaError('INVALID_INPUT', 'the request has no body', { field: 'body' });
      const request = parseInferBody(body, name, version, header(req, HEADER_LENGTH));
      const response = await this.#core.infer(request, { signal: abort, headers: { deadline: header(req, DEADLINE_HEADER), priority: header(req, PRIORITY_HEADER) }, trace: trace.context });
      trace.end();
      const { body: out, headerLength } = encodeInferResponse(response);
      const payload = typeof out === 'string' ? Buffer.from(out) : out;
      if (headerLength === undefined) this.#send(res, 200, { ...trace.responseHeaders, 'content-type': JSON_TYPE, 'content-length': payload.length }, payload);
      else this.#send(res, 200, { ...trace.responseHeaders, 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLength, 'content-length': payload.length }, payload);
    } catch (err) {
      const { error, status, message } = errorStatusOf(err);
      trace.end(error.code); // a no-op when the answer already ended it (a failure while encoding)
      this.#sendJson(res, status.http, { error: message, code: error.code }, { ...trace.responseHeaders, ...(status.retryable ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {}) });
    } finally {
      res.off('close', onClose);
    }
  }

  #tooLarge(req: IncomingMessage, res: ServerResponse): void {
    // The rest of the body is not read: the answer closes the connection.
    this.#sendJson(res, 413, { error: `request body is larger than the limit of ${this.#maxBodyBytes} bytes`, code: 'INVALID_INPUT' }, { connection: 'close' });
    req.resume();
  }

  #sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders): void {
    const payload = Buffer.from(JSON.stringify(value));
    this.#send(res, status, { ...headers, 'content-type': JSON_TYPE, 'content-length': payload.length }, payload);
  }

  #send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, payload: Buffer): void {
    this.answered++;
    if (res.headersSent || res.destroyed) return;
    // While draining, every answer closes its connection, so clients do not keep sockets to a server about to go.
    if (this.#core.draining) headers['connection'] = 'close';
    res.writeHead(status, headers);
    res.end(payload);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
