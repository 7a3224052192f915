/**
 * A floor for `bench/gateway.ts`: a gRPC responder that speaks just enough HTTP/2 on a `node:net` socket to
 * answer a unary call from a `node:http2` client, with none of node:http2's server machinery (no nghttp2
 * session, no stream objects, no header objects). Its difference to the bare node:http2 front
 * (`h2InferFloor`) is what node:http2's server side costs per call; its difference to `node.submit` is the least
 * any HTTP/2 server could add with the same client.
 *
 * It is not a server: request headers are not decoded (HPACK state is ignored; the method path is assumed),
 * answers use HPACK literals without indexing, and the only flow control is a connection WINDOW_UPDATE for
 * what was received. Enough for the bench's one-at-a-time small calls; nothing else should connect to it.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

const PREFACE_BYTES = 24;
const DATA = 0;
const HEADERS = 1;
const SETTINGS = 4;
const PING = 6;
const WINDOW_UPDATE = 8;
const END_STREAM = 1;
const ACK = 1;
const END_HEADERS = 4;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream, 5);
  payload.copy(out, 9);
  return out;
}

/** A header field as an HPACK literal without indexing, with a literal name (no Huffman). */
function literal(name: string, value: string): Buffer {
  if (name.length > 126 || value.length > 126) throw new Error('short header fields only');
  return Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

// ':status: 200' is entry 8 of the static table (indexed: 0x88).
const RESPONSE_HEADERS = Buffer.concat([Buffer.from([0x88]), literal('content-type', 'application/grpc')]);
const OK_TRAILERS = literal('grpc-status', '0');
const INTERNAL_STATUS = literal('grpc-status', '13');

/** Starts the responder: `run` gets each request's message (prefix stripped) and returns the answer's bytes. */
export async function h2WireInferFloor(run: (message: Buffer) => Promise<Uint8Array>): Promise<{ address: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
    let buf: Buffer = Buffer.alloc(0);
    let preface = false;
    let unacked = 0;
    const bodies = new Map<number, Buffer[]>();
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length > 0 ? Buffer.concat([buf, chunk]) : chunk;
      if (!preface) {
        if (buf.length < PREFACE_BYTES) return;
        buf = buf.subarray(PREFACE_BYTES);
        preface = true;
      }
      const out: Buffer[] = [];
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const [type, flags] = [buf[3]!, buf[4]!];
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + length);
        buf = buf.subarray(9 + length);
        if (type === SETTINGS && (flags & ACK) === 0) out.push(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        else if (type === PING && (flags & ACK) === 0) out.push(frame(PING, ACK, 0, Buffer.from(payload)));
        else if (type === HEADERS && !bodies.has(id)) bodies.set(id, []);
        if (type === DATA) {
          unacked += length;
          bodies.get(id)?.push(Buffer.from(payload));
        }
        if ((type === DATA || type === HEADERS) && (flags & END_STREAM) !== 0) {
          const body = Buffer.concat(bodies.get(id) ?? []);
          bodies.delete(id);
          run(body.subarray(5)).then(
            (answer) => {
              const message = Buffer.allocUnsafe(5 + answer.byteLength);
              message[0] = 0;
              message.writeUInt32BE(answer.byteLength, 1);
              message.set(answer, 5);
              socket.write(Buffer.concat([frame(HEADERS, END_HEADERS, id, RESPONSE_HEADERS), frame(DATA, 0, id, message), frame(HEADERS, END_HEADERS | END_STREAM, id, OK_TRAILERS)]));
            },
            () => socket.write(frame(HEADERS, END_HEADERS | END_STREAM, id, Buffer.concat([RESPONSE_HEADERS, INTERNAL_STATUS]))),
          );
        }
      }
      // As nghttp2 does: give the connection window back once half of the initial 65 535 bytes is used.
      if (unacked >= 32_768) {
        const increment = Buffer.allocUnsafe(4);
        increment.writeUInt32BE(unacked, 0);
        out.push(frame(WINDOW_UPDATE, 0, 0, increment));
        unacked = 0;
      }
      if (out.length > 0) socket.write(Buffer.concat(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
