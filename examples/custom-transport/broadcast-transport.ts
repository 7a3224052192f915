import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { EparaError, invalidOption } from '@epara/core';
import { EventEmitter } from '@epara/mesh';
import { createConnection } from '@epara/mesh/wire';
import type { Connection, ConnectOptions, Transport, TransportEvents } from '@epara/mesh';
import type { ConnectionController } from '@epara/mesh/wire';
import { parseBusMessage } from './wire.js';
import type { BusMessage } from './wire.js';

/** Options of {@link createBroadcastTransport}. */
export interface BroadcastTransportOptions {
  /** Name of the `BroadcastChannel` every transport of the mesh shares. @default 'epara-mesh' */
  readonly channel?: string;
  /** Name this transport listens on; its address is `bc:<name>`. @default a random UUID */
  readonly name?: string;
  /** Largest frame sent or accepted, bytes. @default 16 MiB */
  readonly maxFrameBytes?: number;
  /** A dial nobody answers within this fails with `PEER_UNAVAILABLE`, ms. @default 500 */
  readonly connectTimeoutMs?: number;
}

interface Pending {
  resolve(c: Connection): void;
  reject(e: EparaError): void;
}

/**
 * A {@link Transport} over a `BroadcastChannel` (node:worker_threads): every transport posts on one named
 * channel and picks the messages addressed to it. No sockets, no ports: it connects EPARA nodes living in
 * one process or in its worker threads. Written only against the public `Transport` interface and the
 * `createConnection` helper of `@epara/mesh`.
 */
class BroadcastTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = 'broadcast-channel';
  readonly maxFrameBytes: number;
  readonly #endpoint: string;
  readonly #bus: BroadcastChannel;
  readonly #timeoutMs: number;
  readonly #links = new Map<string, { ctl: ConnectionController; peer: string }>();
  readonly #dials = new Map<string, Pending>();
  #listening = false;
  #closed = false;

  constructor(o: Required<BroadcastTransportOptions>) {
    super();
    this.maxFrameBytes = o.maxFrameBytes;
    this.#endpoint = `bc:${o.name}`;
    this.#timeoutMs = o.connectTimeoutMs;
    this.#bus = new BroadcastChannel(o.channel);
    this.#bus.onmessage = (event) => this.#onMessage(parseBusMessage((event as MessageEvent).data));
    this.#bus.unref(); // an idle transport never keeps the process alive
  }

  get address(): string | undefined {
    return this.#listening ? this.#endpoint : undefined;
  }

  async listen(): Promise<{ address: string }> {
    if (this.#closed) throw new EparaError('CLOSED', 'transport is closed');
    this.#listening = true;
    return { address: this.#endpoint };
  }

  connect(address: string, { signal }: ConnectOptions = {}): Promise<Connection> {
    if (this.#closed) return Promise.reject(new EparaError('CLOSED', 'transport is closed'));
    if (signal?.aborted) return Promise.reject(new EparaError('ABORTED', 'connect aborted'));
    if (!address.startsWith('bc:')) return Promise.reject(new EparaError('INVALID_INPUT', `not a broadcast address: ${address}`, { address }));
    const conn = `${this.#endpoint}/${randomUUID()}`;
    return new Promise<Connection>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#dials.delete(conn);
      };
      const fail = (e: EparaError): void => {
        settle();
        reject(e);
      };
      const onAbort = (): void => fail(new EparaError('ABORTED', 'connect aborted', { address }));
      const timer = setTimeout(() => fail(new EparaError('PEER_UNAVAILABLE', `nobody answered on ${address}`, { address })), this.#timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#dials.set(conn, { resolve: (c) => (settle(), resolve(c)), reject: fail });
      this.#post({ to: address, conn, op: 'open' });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listening = false;
    for (const pending of [...this.#dials.values()]) pending.reject(new EparaError('CLOSED', 'transport closed while connecting'));
    for (const { ctl } of [...this.#links.values()]) ctl.connection.close('transport closed');
    // Let the posted `close` messages leave before the channel goes away.
    await new Promise((r) => setTimeout(r, 5));
    this.#bus.close();
  }

  #onMessage(m: BusMessage | undefined): void {
    if (m === undefined || m.to !== this.#endpoint || this.#closed) return;
    const link = this.#links.get(m.conn);
    if (m.op === 'open') return this.#accept(m);
    if (m.op === 'accept') {
      const pending = this.#dials.get(m.conn);
      if (pending) return pending.resolve(this.#adopt(m.conn, m.from, 'outbound'));
      return this.#post({ to: m.from, conn: m.conn, op: 'close', reason: 'dial abandoned' }); // aborted or timed out
    }
    if (m.op === 'close') {
      if (!link) return;
      this.#links.delete(m.conn);
      const error = m.protocolError ? new EparaError('PROTOCOL_ERROR', m.reason ?? 'peer refused a frame') : undefined;
      return link.ctl.closedByMedium({ reason: m.reason ?? 'closed by peer', ...(error ? { error } : {}) });
    }
    if (!link) return;
    if (m.data!.byteLength > this.maxFrameBytes) {
      const reason = `frame of ${m.data!.byteLength} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`;
      this.#links.delete(m.conn);
      this.#post({ to: link.peer, conn: m.conn, op: 'close', reason, protocolError: true });
      return link.ctl.closedByMedium({ reason, error: new EparaError('PROTOCOL_ERROR', reason) });
    }
    link.ctl.receive(m.data!);
  }

  #accept(m: BusMessage): void {
    if (!this.#listening || this.#links.has(m.conn)) return;
    const connection = this.#adopt(m.conn, m.from, 'inbound');
    this.#post({ to: m.from, conn: m.conn, op: 'accept' });
    this.emit('connectionAccepted', { connection });
  }

  #adopt(conn: string, peer: string, direction: 'inbound' | 'outbound'): Connection {
    const ctl = createConnection({
      remoteAddress: peer,
      direction,
      maxFrameBytes: this.maxFrameBytes,
      sink: {
        write: (data) => this.#post({ to: peer, conn, op: 'frame', data }),
        close: (reason) => {
          if (this.#links.delete(conn)) this.#post({ to: peer, conn, op: 'close', reason });
        },
      },
    });
    this.#links.set(conn, { ctl, peer });
    return ctl.connection;
  }

  #post(m: Omit<BusMessage, 'v' | 'from'>): void {
    // BroadcastChannel clones the message: the sender may reuse its buffer right away.
    this.#bus.postMessage({ v: 1, from: this.#endpoint, ...m });
  }
}

/**
 * Creates a transport over a named `BroadcastChannel`. Addresses are `bc:<name>`.
 *
 * @throws EparaError `INVALID_OPTIONS` naming a bad field.
 * @example
 * ```ts
 * const a = createBroadcastTransport({ name: 'edge-a' });
 * await a.listen();                                   // address 'bc:edge-a'
 * const conn = await createBroadcastTransport().connect('bc:edge-a');
 * ```
 */
export function createBroadcastTransport(options: BroadcastTransportOptions = {}): Transport {
  const channel = options.channel ?? 'epara-mesh';
  const name = options.name ?? randomUUID();
  const maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
  const connectTimeoutMs = options.connectTimeoutMs ?? 500;
  if (typeof channel !== 'string' || channel === '') invalidOption('channel', channel, 'a non-empty string');
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) invalidOption('name', name, 'letters, digits, _ . -');
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) invalidOption('maxFrameBytes', maxFrameBytes, 'a positive integer');
  if (!(connectTimeoutMs > 0)) invalidOption('connectTimeoutMs', connectTimeoutMs, 'a positive number');
  return new BroadcastTransport({ channel, name, maxFrameBytes, connectTimeoutMs });
}
