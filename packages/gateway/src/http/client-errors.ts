import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Answers a request node:http could not parse (a malformed request line or header, a bad or conflicting
 * `Content-Length`, `Transfer-Encoding` with `Content-Length`, bytes that are not HTTP) in the protocol's error
 * form, `{ "error", "code" }`, instead of Fastify's `{ "error", "message", "statusCode" }`, and closes the
 * connection (after such a request, where the next one starts is unknown). A request not fully received in
 * time is 408, headers too large 431, everything else 400; the code is `INVALID_INPUT`.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message =
    status === 408
      ? 'the request did not arrive in time'
      : status === 431
        ? 'the request headers are too large'
        : `malformed HTTP request${err.code ? ` (${err.code})` : ''}`;
  const body = JSON.stringify({ error: message, code: 'INVALID_INPUT' });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/**
 * The `Transfer-Encoding` of a request whose body has no length a server can read — one whose last coding is not
 * `chunked` (`gzip`, `xchunked`) — or `undefined`. node:http reads such a body until the client closes the
 * connection, where RFC 9112 §6.3 says the server MUST answer 400 and close it.
 */
export function unframedTransferEncoding(req: IncomingMessage): string | undefined {
  const te = req.headers['transfer-encoding'];
  if (te === undefined) return undefined;
  const codings = te.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
  return codings[codings.length - 1] === 'chunked' ? undefined : te;
}

/** Answers a request {@link unframedTransferEncoding} found: 400 `INVALID_INPUT`, and the connection closed unread. */
export function refuseUnframed(res: ServerResponse, te: string): void {
  refuseAndClose(res, `Transfer-Encoding ${JSON.stringify(te)} does not end in chunked: the request body has no length to read (RFC 9112, section 6.3)`);
}

/** Answers an HTTP/1.1 request without `Host` (RFC 9112 §3.2: a 400): in the protocol's error form, and closes. */
export function refuseWithoutHost(res: ServerResponse): void {
  refuseAndClose(res, 'an HTTP/1.1 request needs a Host header');
}

function refuseAndClose(res: ServerResponse, message: string): void {
  const body = JSON.stringify({ error: message, code: 'INVALID_INPUT' });
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
  res.once('finish', () => res.socket?.destroySoon());
}
