/**
 * Lean clients and floors for `bench/gateway.ts`: they let the bench separate what the gateway's servers add
 * from what the standard clients (node:http's `request`, `@grpc/grpc-js`) cost on the same machine.
 *
 * - {@link rawHttpClient}: one keep-alive TCP socket, a prebuilt HTTP/1.1 request written in one `write`, the
 *   answer parsed by `Content-Length` only.
 * - {@link h2GrpcClient}: one `node:http2` session, one stream per unary gRPC call, the message prefix and
 *   `grpc-status` checked, nothing decoded.
 * - {@link rawTcpHttpFloor}: a `node:net` server answering each HTTP/1.1 request with a fixed response (the
 *   loopback round trip and event-loop wake-ups with no HTTP server library): node:http's own server cost is
 *   the difference to a node:http server doing the same.
 * - {@link h2InferFloor}: a bare `node:http2` gRPC front that runs a given submit and frames its bytes (no
 *   protobuf, no checks): the least an HTTP/2 gRPC server over `node.submit` can add.
 */
import { connect as h2connect, createServer as h2createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';

/**
 * The first complete HTTP/1.1 message in `buf` (head + `Content-Length` body, or a chunked body up to its last
 * chunk, whose bytes are then left undecoded): its head, body start and length.
 */
function messageLength(buf: Buffer): { total: number; bodyStart: number; head: string } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.toString('latin1', 0, end);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    const last = buf.indexOf('0\r\n\r\n', end + 4);
    return last < 0 ? undefined : { total: last + 5, bodyStart: end + 4, head };
  }
  const m = /\r\ncontent-length: *(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return buf.length >= total ? { total, bodyStart: end + 4, head } : undefined;
}

/** A prebuilt HTTP/1.1 request. */
export function httpRequestBytes(method: string, path: string, headers: Readonly<Record<string, string>>, body: Buffer): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${body.length}`];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * One keep-alive connection, one request at a time. A connection the server closed while idle (its keep-alive
 * timeout) is reopened on the next request; a request whose connection closes before the answer is sent again
 * once on a new one, as an agent does.
 */
export function rawHttpClient(port: number): { send(request: Buffer): Promise<{ status: number; body: Buffer }>; close(): void } {
  type Pending = { request: Buffer; retried: boolean; resolve: (r: { status: number; body: Buffer }) => void; reject: (e: Error) => void };
  let socket: Socket | undefined;
  let buf: Buffer | undefined;
  let pending: Pending | undefined;
  let closed = false;
  const open = (): Socket => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    buf = undefined;
    s.on('data', (chunk: Buffer) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      const m = messageLength(buf);
      if (!m || !pending) return;
      const body = buf.subarray(m.bodyStart, m.total);
      buf = buf.length > m.total ? buf.subarray(m.total) : undefined;
      const p = pending;
      pending = undefined;
      p.resolve({ status: Number(m.head.slice(9, 12)), body });
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (socket === s) socket = undefined;
      const p = pending;
      if (!p || closed) return;
      if (p.retried) return void ((pending = undefined), p.reject(new Error('connection closed before the answer')));
      p.retried = true;
      (socket = open()).write(p.request);
    });
    return s;
  };
  return {
    send: (request) =>
      new Promise((resolve, reject) => {
        pending = { request, retried: false, resolve, reject };
        (socket ??= open()).write(request);
      }),
    close: () => {
      closed = true;
      socket?.destroy();
    },
  };
}

/** A `node:net` server that answers every complete HTTP/1.1 request with `response`. */
export async function rawTcpHttpFloor(response: Buffer): Promise<{ port: number; close(): void }> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let buf: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      for (let m = messageLength(buf); buf && m; m = buf ? messageLength(buf) : undefined) {
        buf = buf.length > m.total ? buf.subarray(m.total) : undefined;
        socket.write(response);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** One `node:http2` session making unary gRPC calls; resolves with the response message (prefix stripped). */
export function h2GrpcClient(address: string): { call(path: string, frame: Buffer): Promise<Buffer>; close(): void } {
  const session = h2connect(`http://${address}`);
  session.on('error', () => undefined);
  return {
    call: (path, frame) =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
        const chunks: Buffer[] = [];
        let status: unknown;
        req.on('response', (h) => (status = h['grpc-status'] ?? status));
        req.on('trailers', (t) => (status = t['grpc-status']));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('error', reject);
        req.on('end', () => {
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (status === '0' && body.length >= 5 && body.readUInt32BE(1) === body.length - 5) resolve(body.subarray(5));
          else reject(new Error(`grpc-status ${String(status)}, ${body.length} bytes`));
        });
        req.end(frame);
      }),
    close: () => session.close(),
  };
}

/** A message with the gRPC 5-byte prefix. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** A bare node:http2 gRPC front: `run` gets the request message and returns the answer's bytes. */
export async function h2InferFloor(run: (message: Buffer) => Promise<Uint8Array>): Promise<{ address: string; close(): void }> {
  const server = h2createServer();
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      run(body.subarray(5)).then(
        (out) => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(grpcFrame(out));
        },
        (err: Error) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '13', 'grpc-message': encodeURIComponent(err.message) }, { endStream: true }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
