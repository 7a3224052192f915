// The custom transport of docs/mesh-transports.md ("Writing a custom transport"), kept here so that the
// contract suite runs against it: raw TCP with a 4-byte little-endian length before each frame.
import { connect as dialTcp, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { EparaError } from '@epara/core';
import { EventEmitter } from '@epara/mesh';
import { createConnection } from '@epara/mesh/wire';
import type { Connection, ConnectOptions, Transport, TransportEvents } from '@epara/mesh';

class TcpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = 'tcp';
  readonly maxFrameBytes: number;
  address: string | undefined;
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #connections = new Set<Connection>();
  #closed = false;

  constructor(maxFrameBytes: number) {
    super();
    this.maxFrameBytes = maxFrameBytes;
  }

  async listen(): Promise<{ address: string }> {
    if (this.#closed) throw new EparaError('CLOSED', 'transport is closed');
    if (this.address !== undefined) return { address: this.address };
    const server = createServer((socket) => {
      const connection = this.#adopt(socket, 'inbound', `${socket.remoteAddress}:${socket.remotePort}`);
      this.emit('connectionAccepted', { connection });
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${(server.address() as { port: number }).port}`;
    return { address: this.address };
  }

  connect(address: string, { signal }: ConnectOptions = {}): Promise<Connection> {
    if (this.#closed) return Promise.reject(new EparaError('CLOSED', 'transport is closed'));
    if (signal?.aborted) return Promise.reject(new EparaError('ABORTED', 'aborted'));
    const [host, port] = address.split(':');
    const socket = dialTcp(Number(port), host);
    this.#sockets.add(socket);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        socket.destroy();
        reject(new EparaError('ABORTED', 'aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (err) => reject(new EparaError('PEER_UNAVAILABLE', err.message, { address })));
      socket.once('close', () => reject(new EparaError('CLOSED', 'closed while connecting', { address })));
      socket.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#adopt(socket, 'outbound', address));
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#connections) c.close('transport closed');
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #adopt(socket: Socket, direction: 'inbound' | 'outbound', remoteAddress: string): Connection {
    this.#sockets.add(socket);
    socket.removeAllListeners('error');
    const ctl = createConnection({
      remoteAddress,
      direction,
      maxFrameBytes: this.maxFrameBytes,
      sink: {
        write: (frame) => {
          const header = Buffer.alloc(4);
          header.writeUInt32LE(frame.byteLength);
          socket.write(header);
          socket.write(frame);
        },
        close: () => socket.end(),
        bufferedBytes: () => socket.writableLength,
      },
    });
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.byteLength >= 4) {
        const length = pending.readUInt32LE(0);
        if (length > this.maxFrameBytes) {
          ctl.closedByMedium({ reason: 'frame too large', error: new EparaError('PROTOCOL_ERROR', 'frame too large') });
          return void socket.destroy();
        }
        if (pending.byteLength < 4 + length) break;
        ctl.receive(pending.subarray(4, 4 + length));
        pending = pending.subarray(4 + length);
      }
    });
    socket.on('error', () => undefined); // 'close' follows and reports it
    socket.on('close', () => {
      this.#sockets.delete(socket);
      ctl.closedByMedium({ reason: 'socket closed' });
    });
    this.#connections.add(ctl.connection);
    ctl.connection.once('closed', () => this.#connections.delete(ctl.connection));
    return ctl.connection;
  }
}

/** A minimal TCP {@link Transport} (example; the WebSocket transport is the production one). */
export function createTcpTransport({ maxFrameBytes = 16 * 1024 * 1024 } = {}): Transport {
  return new TcpTransport(maxFrameBytes);
}
