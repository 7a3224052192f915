import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLOSING_BODY, RETRY_AFTER_SECONDS } from '../errors/error-status.js';

/**
 * Cuts an HTTP client that stalls, on the socket's inactivity timeout (node re-arms it with every byte read or
 * written, so a client that keeps sending or reading, however slowly, is never cut by it):
 *
 * - a request body that brings no byte for `idleMs` is answered 408 `INVALID_INPUT` with `Connection: close`;
 * - an answer the client stops reading for `idleMs` has its connection destroyed (the request is complete by
 *   then, so node:http emits the timeout on the response, which has no listener, and destroys the socket).
 *
 * For routes that answer at once once the body is in (Fastify's: health, metadata, statistics, the repository
 * index). A route that then runs for a while without traffic (inference) stops the clock meanwhile,
 * `req.socket.setTimeout(0)`, and starts it again when it writes.
 */
export function cutStalledClient(req: IncomingMessage, res: ServerResponse, idleMs: number): void {
  req.setTimeout(idleMs, () => answerStalledBody(res, idleMs));
}

/**
 * Answers a request whose body stopped arriving: 408 in the protocol's error form, and the connection closed
 * once the answer is written (the rest of the body will not be read). A client that does not read that either
 * has its connection destroyed at the next timeout.
 */
export function answerStalledBody(res: ServerResponse, idleMs: number): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: `the request body made no progress for ${idleMs} ms`, code: 'INVALID_INPUT' });
  res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/**
 * Answers a request whose body is still arriving when the server closes: 503 `CLOSED` (retryable, `Retry-After`)
 * with `Connection: close`, and the connection closed once the answer is written, so a slow upload does not hold
 * the shutdown until `requestTimeoutMs`. Nothing is done for a request already answered or gone.
 */
export function answerClosing(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(CLOSING_BODY);
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' });
  res.end(body);
  res.once('finish', () => res.socket?.destroySoon());
}
