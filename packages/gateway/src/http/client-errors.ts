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
  if (err.code === 'HPE_PAUSED_H2_UPGRADE') return refuseHttp2(socket);
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

/** What an HTTP/2 client that connected to this port is told (the GOAWAY's debug data). */
const HTTP2_REFUSAL = 'this port speaks HTTP/1.1 (the REST API, JSON and binary tensors); gRPC is served on the gRPC port';

/**
 * The answer to the HTTP/2 connection preface (`PRI * HTTP/2.0`: a client with prior knowledge of HTTP/2, as
 * `curl --http2-prior-knowledge` or a gRPC client pointed at this port connects), in HTTP/2, which is what such a
 * client reads: an empty SETTINGS frame, then GOAWAY with `HTTP_1_1_REQUIRED` (RFC 9113 §7) and the reason as
 * debug data. An HTTP/1.1 400 was read by such a client as a broken frame ("empty reply", "protocol error").
 * The connection is closed once the client closes its side (what it still sends is read and dropped, so the
 * close does not reset the GOAWAY away), or after {@link LINGER_MS}.
 */
function refuseHttp2(socket: Socket): void {
  const debug = Buffer.from(HTTP2_REFUSAL);
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const goaway = Buffer.alloc(9 + 8 + debug.length);
  goaway.writeUIntBE(8 + debug.length, 0, 3); // length
  goaway[3] = 7; // type GOAWAY; flags 0, stream 0
  goaway.writeUInt32BE(0, 9); // last stream id: none was processed
  goaway.writeUInt32BE(0xd, 13); // HTTP_1_1_REQUIRED
  debug.copy(goaway, 17);
  if (!socket.writable) return void socket.destroy();
  socket.end(Buffer.concat([settings, goaway]));
  // node:http's parser would report each later frame (the client's SETTINGS ack) as another error: not HTTP/1.1.
  socket.removeAllListeners('data');
  socket.on('data', ignoreData);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** How long a refused HTTP/2 client is given to read the GOAWAY and close its side. */
const LINGER_MS = 2000;

const ignoreData = (): void => undefined;
