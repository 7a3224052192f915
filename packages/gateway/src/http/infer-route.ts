import type { IncomingMessage, ServerResponse } from 'node:http';
import { EparaError } from '@epara/core';
import { CLOSING_BODY, RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import type { InferCore } from '../inference/infer-core.js';
import { DEADLINE_HEADER, PRIORITY_HEADER } from '../protocol/request-controls.js';
import { RequestSignal } from '../protocol/request-signal.js';
import { beginRequestTrace } from '../protocol/request-trace.js';
import { REQUEST_ENCODINGS, answerEncoding, encodeBody, inflateBody } from './content-encoding.js';
import { HEADER_LENGTH, encodeInferResponse, parseInferBody } from './infer-body.js';
import type { HttpInferRequest } from './infer-body.js';
import { LARGE_JSON_VALUES, encodeLargeInferResponse, jsonValueCount } from './large-response.js';
import { answerStalledBody } from './stalled-clients.js';
import { isRawBinaryRequest, rawBinaryRequest } from './raw-binary-request.js';

/**
 * `/v2/models/{name}/infer` and `/v2/models/{name}/versions/{version}/infer` (no query string or fragment), with or without a
 * trailing slash, as every other route takes it.
 */
const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer\/?$/;

const JSON_TYPE = 'application/json; charset=utf-8';

/** The most a body buffer is allocated before its bytes arrive (a declared body is grown to its length as they do). */
const FIRST_BUFFER_BYTES = 1024 * 1024;

/** The scheme and authority of an absolute-form request target (`POST http://host:8000/v2/… HTTP/1.1`). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The model name and version of an infer URL, or `undefined` when the URL is not one (or not decodable). The
 * target may be in absolute form, which a server must accept (RFC 9112 §3.2.2) and clients behind a proxy send.
 */
export function matchInferPath(url: string): { readonly name: string; readonly version: string | undefined } | undefined {
  const target = url.charCodeAt(0) === 0x2f ? url : url.replace(ABSOLUTE_FORM, '');
  const q = target.search(/[?#]/);
  const m = INFER_PATH.exec(q < 0 ? target : target.slice(0, q));
  if (!m) return undefined;
  try {
    return { name: decodeURIComponent(m[1]!), version: m[2] === undefined ? undefined : decodeURIComponent(m[2]) };
  } catch {
    return undefined; // malformed %-encoding: the router answers it
  }
}

/** The state of one infer request, kept on its request and response objects (no closures per request). */
const EXCHANGE = Symbol('epara.inferExchange');

interface Exchange {
  readonly route: InferRoute;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly name: string;
  readonly version: string | undefined;
  /** Content-Length, when the request has one (the body's final size). */
  readonly declared: number | undefined;
  body: Buffer;
  filled: number;
  failed: boolean;
  /** Created when the body is complete; aborted when the client goes away before the answer. */
  abort: RequestSignal | undefined;
  answered: boolean;
}

type Carrier = { [EXCHANGE]?: Exchange };

/**
 * The protocol's infer route on plain node:http, the hot path of the HTTP front (health, metadata and
 * everything else go through the router). The body is read into one buffer sized by `Content-Length` up to
 * 1 MiB (grown as larger or chunked bodies arrive, so a declared size costs nothing before its bytes come), parsed once, and the answer is written with one `writeHead` (header list built
 * once, `Content-Length` computed) and a single `end(buffer)`. The per-request state lives on the request and
 * response objects; their listeners are shared functions.
 */
export class InferRoute {
  readonly core: InferCore;
  readonly maxBodyBytes: number;
  /**
   * A body that brings no byte for this long (ms) is answered 408; an answer the client stops reading for this
   * long has its connection destroyed.
   */
  readonly stalledMs: number;
  /** Inference requests taken, and those answered (response written). */
  accepted = 0;
  answered = 0;
  /** Requests whose body is still arriving (answered at once by {@link closeReading}). */
  readonly reading = new Set<Exchange>();

  constructor(core: InferCore, maxBodyBytes: number, stalledMs: number) {
    this.core = core;
    this.maxBodyBytes = maxBodyBytes;
    this.stalledMs = stalledMs;
  }

  /** Takes the request when it is `POST` on an infer URL; returns whether it did. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const path = matchInferPath(req.url ?? '');
    if (!path) return false;
    this.accepted++;
    const length = declaredLength(req);
    if (this.#refused(req, res, { ...path, length, unsent: false })) return true;
    // Sized by Content-Length up to FIRST_BUFFER_BYTES, grown as the bytes arrive: a client declaring the largest
    // allowed body and then sending nothing holds no more than that.
    const first = length === undefined ? 0 : Math.min(length, FIRST_BUFFER_BYTES);
    const x: Exchange = { route: this, req, res, name: path.name, version: path.version, declared: length, body: Buffer.allocUnsafe(first), filled: 0, failed: false, abort: undefined, answered: false };
    (req as Carrier)[EXCHANGE] = x;
    (res as Carrier)[EXCHANGE] = x;
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('close', onRequestClose);
    // A body that stops arriving for stalledMs is answered 408; progress, however slow, re-arms the timer.
    req.on('timeout', onReadStalled);
    req.socket.setTimeout(this.stalledMs);
    this.reading.add(x);
    return true;
  }

  /**
   * The server is closing: every request whose body is still arriving is answered `503 CLOSED` (retryable) with
   * `Connection: close` at once, so a slow or stalled upload does not hold the shutdown until `requestTimeoutMs`.
   */
  closeReading(): void {
    for (const x of this.reading) {
      x.failed = true;
      sendJson(x, 503, CLOSING_BODY, ['retry-after', String(RETRY_AFTER_SECONDS), 'connection', 'close']);
      // The rest of the body is not wanted: the connection ends once the answer is written.
      x.res.once('finish', endSocket);
    }
    this.reading.clear();
  }

  /**
   * For a request that waits for `100 Continue` before sending its body (`Expect: 100-continue`, as curl sends
   * large uploads): answers it at once when its body would be refused anyway (413, 404, 503), with
   * `Connection: close` since the body never comes; returns whether it did. Otherwise the caller sends the
   * `100 Continue` and routes the request as any other.
   */
  refusesBeforeBody(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const path = matchInferPath(req.url ?? '');
    if (!path) return false;
    const length = declaredLength(req);
    let refused = length !== undefined && length > this.maxBodyBytes;
    if (!refused) {
      try {
        this.core.admit(path.name, path.version);
      } catch {
        refused = true;
      }
    }
    if (!refused) return false;
    this.accepted++;
    this.#refused(req, res, { ...path, length, unsent: true });
    return true;
  }

  /**
   * Answers a request refused before its body is read — too large (413), an unknown model or version (404), a
   * draining server (503, only for a body not yet sent) — and returns whether it was. The body is discarded, or (never sent, too long to
   * read, of unknown length) the connection closed after the answer.
   */
  #refused(req: IncomingMessage, res: ServerResponse, o: { name: string; version: string | undefined; length: number | undefined; unsent: boolean }): boolean {
    if (o.length !== undefined && o.length > this.maxBodyBytes) {
      tooLarge(this, req, res, o.unsent ? Number.POSITIVE_INFINITY : o.length);
      return true;
    }
    try {
      // A draining server refuses a body being sent only once it arrived: answered (and the connection closed)
      // mid-upload, the client could see a reset instead of the 503. One never sent is refused at once.
      if (o.unsent) this.core.admit(o.name, o.version);
      else this.core.model(o.name, o.version);
      return false;
    } catch (err) {
      refuseUnread(this, { req, res, declared: o.unsent ? undefined : o.length }, err);
      return true;
    }
  }
}

function declaredLength(req: IncomingMessage): number | undefined {
  const declared = req.headers['content-length'];
  return declared === undefined ? undefined : Number(declared);
}

/** The request closed (its body complete, or the client gone): no longer one still arriving. */
function onRequestClose(this: IncomingMessage & Carrier): void {
  const x = this[EXCHANGE];
  if (x) x.route.reading.delete(x);
}

/** The body brought no byte for `stalledMs`: 408 and the connection closed, or (answered already) destroyed. */
function onReadStalled(this: IncomingMessage & Carrier): void {
  const x = this[EXCHANGE];
  if (!x || x.failed || x.answered || !x.route.reading.has(x)) {
    this.socket.destroy();
    return;
  }
  x.failed = true;
  x.route.reading.delete(x);
  x.route.answered++;
  x.answered = true;
  answerStalledBody(x.res, x.route.stalledMs);
}

function endSocket(this: ServerResponse): void {
  this.socket?.destroySoon();
}

function onData(this: IncomingMessage & Carrier, chunk: Buffer): void {
  const x = this[EXCHANGE]!;
  if (x.failed) return;
  const max = x.route.maxBodyBytes;
  if (x.filled + chunk.length > x.body.length) {
    if (x.filled + chunk.length > max) {
      x.failed = true;
      x.route.reading.delete(x);
      // No declared length: the rest could be endless, so the answer closes the connection.
      tooLarge(x.route, x.req, x.res, Number.POSITIVE_INFINITY);
      return;
    }
    const grown = Buffer.allocUnsafe(Math.max(x.filled + chunk.length, Math.min(x.declared ?? max, x.body.length * 2)));
    x.body.copy(grown, 0, 0, x.filled);
    x.body = grown;
  }
  chunk.copy(x.body, x.filled);
  x.filled += chunk.length;
}

function onEnd(this: IncomingMessage & Carrier): void {
  const x = this[EXCHANGE]!;
  x.route.reading.delete(x);
  if (x.failed) return;
  // The body is in: the request may run as long as it needs without traffic (send() starts the clock again).
  this.socket.setTimeout(0);
  x.abort = new RequestSignal();
  x.res.on('close', onClose);
  const encoding = header(x.req, 'content-encoding');
  const transfer = transferCodings(x.req);
  if ((encoding === undefined && transfer === undefined) || x.filled === 0) void infer(x);
  else void inflated(x, { transfer, encoding });
}

/**
 * The transfer codings of a request besides `chunked`, which node:http undoes (it passes `gzip, chunked` through
 * as is): `undefined` when there are none.
 */
function transferCodings(req: IncomingMessage): string | undefined {
  const te = header(req, 'transfer-encoding');
  if (te === undefined) return undefined;
  const rest = te
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c.toLowerCase() !== 'chunked');
  return rest.length === 0 ? undefined : rest.join(', ');
}

/**
 * A compressed body: its transfer codings undone (applied last by the client, so undone first), then its
 * `Content-Encoding`, then read like any other; or refused (400, 413, 415; 501 for an unknown transfer coding).
 */
async function inflated(x: Exchange, codings: { transfer: string | undefined; encoding: string | undefined }): Promise<void> {
  let body = x.body.subarray(0, x.filled);
  for (const [field, value] of [['Transfer-Encoding', codings.transfer], ['Content-Encoding', codings.encoding]] as const) {
    if (value === undefined) continue;
    const r = await inflateBody(body, value, { maxBytes: x.route.maxBodyBytes, field });
    if (!r.ok) return sendJson(x, r.status, { error: r.message, code: 'INVALID_INPUT' }, r.status === 415 ? ['accept-encoding', REQUEST_ENCODINGS] : []);
    body = r.body;
  }
  x.body = body;
  x.filled = body.length;
  await infer(x);
}

/** The response closed: before the answer was written, the client went away. */
function onClose(this: ServerResponse & Carrier): void {
  const x = this[EXCHANGE]!;
  if (!x.answered && !this.writableFinished) x.abort?.abort();
}

async function infer(x: Exchange): Promise<void> {
  const { req, route } = x;
  const trace = beginRequestTrace((h) => header(req, h), x.name);
  try {
    if (x.filled === 0) throw new EparaError('INVALID_INPUT', 'the request has no body', { field: 'body' });
    const body = x.body.subarray(0, x.filled);
    const jsonLength = jsonHeaderLength(header(req, HEADER_LENGTH));
    const request: HttpInferRequest = isRawBinaryRequest(jsonLength) ? rawBinaryRequest(route.core.model(x.name, x.version), body, x.version) : parseInferBody(body, x.name, x.version, jsonLength);
    const answer = await route.core.infer(request, { signal: x.abort!, headers: { deadline: header(req, DEADLINE_HEADER), priority: header(req, PRIORITY_HEADER) }, trace: trace.context });
    trace.end();
    const response = request.parameterText === undefined ? answer : { ...answer, parameterText: request.parameterText };
    // Millions of JSON values take seconds to write: encoded in slices, so other requests are not frozen meanwhile.
    const encoded = jsonValueCount(response) > LARGE_JSON_VALUES ? await encodeLargeInferResponse(response, () => x.res.destroyed || x.abort!.aborted) : encodeInferResponse(response);
    if (encoded === undefined) throw new EparaError('ABORTED', 'the client went away while the answer was encoded');
    const { body: out, headerLength } = encoded;
    let payload = typeof out === 'string' ? Buffer.from(out) : out;
    const headers = traceHeaders(trace.responseHeaders);
    if (headerLength === undefined) headers.push('content-type', JSON_TYPE);
    else headers.push('content-type', 'application/octet-stream', 'inference-header-content-length', String(headerLength));
    // A client that takes gzip or deflate (tritonclient's response_compression_algorithm) gets the answer so, as
    // Triton answers it; Inference-Header-Content-Length still counts the inflated JSON header.
    const coding = answerEncoding(header(req, 'accept-encoding'));
    headers.push('vary', 'accept-encoding');
    if (coding !== undefined) {
      payload = await encodeBody(payload, coding);
      headers.push('content-encoding', coding);
    }
    send(x, 200, headers, payload);
  } catch (err) {
    const { error, status, message } = errorStatusOf(err);
    trace.end(error.code); // a no-op when the answer already ended it (a failure while encoding)
    const headers = traceHeaders(trace.responseHeaders);
    if (status.retryable) headers.push('retry-after', String(RETRY_AFTER_SECONDS));
    sendJson(x, status.http, { error: message, code: error.code }, headers);
  }
}

/**
 * The value of `Inference-Header-Content-Length`. Sent twice (a client library and a proxy each adding it),
 * node:http joins the field lines into one list (`n, n`): the same length repeated is that length, as RFC 9112
 * §6.3 reads a repeated identical Content-Length (and Triton, which reads the first line, reads the same), while
 * different lengths are refused, since which one frames the JSON header cannot be told.
 * @throws EparaError `INVALID_INPUT` for different values
 */
function jsonHeaderLength(value: string | undefined): string | undefined {
  if (value === undefined || !value.includes(',')) return value;
  const values = value.split(',').map((v) => v.trim());
  if (values.every((v) => v === values[0])) return values[0];
  throw new EparaError('INVALID_INPUT', `Inference-Header-Content-Length is sent with different values (${values.join(', ')}): it gives the length of the one JSON header`, { field: 'Inference-Header-Content-Length' });
}

function traceHeaders(h: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const k in h) out.push(k, h[k]!);
  return out;
}

/**
 * Declared bodies up to this size are read and discarded after a 413, so the client finishes sending and reads
 * the answer (closing at once resets the connection under a client still writing: it sees `EPIPE`, not the
 * 413); larger ones get the answer with `Connection: close`, and the connection closes once it is written.
 */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

function tooLarge(route: InferRoute, req: IncomingMessage, res: ServerResponse, declared: number): void {
  const linger = declared <= LINGER_MAX_BYTES;
  sendJson({ route, res }, 413, { error: `request body is larger than the limit of ${route.maxBodyBytes} bytes`, code: 'INVALID_INPUT' }, linger ? [] : ['connection', 'close']);
  discard(route, req, res);
}

/** Reads and drops the rest of a refused request's body; a client that stalls in it has its connection destroyed. */
function discard(route: InferRoute, req: IncomingMessage, res: ServerResponse): void {
  req.socket.setTimeout(route.stalledMs);
  // Once the answer is out, node:http arms its keep-alive timeout instead: the body is still arriving, so not yet.
  if (!req.complete) res.once('finish', () => req.socket?.setTimeout(route.stalledMs));
  req.resume();
}

/** An error answered without reading the body, which is then discarded like a too-large one's. */
function refuseUnread(route: InferRoute, x: { req: IncomingMessage; res: ServerResponse; declared: number | undefined }, err: unknown): void {
  const { error, status, message } = errorStatusOf(err);
  const headers: string[] = [];
  if (status.retryable) headers.push('retry-after', String(RETRY_AFTER_SECONDS));
  // A body of unknown length (chunked) or past the linger limit could be endless: the connection closes.
  if (x.declared === undefined || x.declared > LINGER_MAX_BYTES) headers.push('connection', 'close');
  sendJson({ route, res: x.res }, status.http, { error: message, code: error.code }, headers);
  discard(route, x.req, x.res);
}

function sendJson(x: Pick<Exchange, 'route' | 'res'> & { answered?: boolean }, status: number, value: unknown, headers: string[]): void {
  headers.push('content-type', JSON_TYPE);
  send(x, status, headers, Buffer.from(JSON.stringify(value)));
}

/** Writes the answer: the header list (flat name/value pairs) plus `Content-Length`, then the payload. */
function send(x: Pick<Exchange, 'route' | 'res'> & { answered?: boolean }, status: number, headers: string[], payload: Buffer): void {
  x.route.answered++;
  x.answered = true;
  const res = x.res;
  if (res.headersSent || res.destroyed) return;
  // While draining, every answer closes its connection, so clients do not keep sockets to a server about to go.
  if (x.route.core.draining && !hasHeader(headers, 'connection')) headers.push('connection', 'close');
  headers.push('content-length', String(payload.length));
  res.writeHead(status, headers);
  res.end(payload);
  // What the socket could not take at once waits for the client to read it: a client that stops reading would
  // hold the answer and the connection for ever. Without progress for stalledMs, the socket times out and
  // node:http destroys it (no 'timeout' listener); once the answer is out, keep-alive sets its own timeout.
  if ((res.socket?.writableLength ?? 0) > 0) res.setTimeout(x.route.stalledMs);
}

function hasHeader(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
