import { EventEmitter } from 'eventemitter3';
import { EparaError, invalidOption } from '@epara/core';
import { createConnection } from './create-connection.js';
import type { ConnectionController } from './create-connection.js';
import { createMemoryHub } from './memory-hub.js';
import type { MemoryEndpoint, MemoryHub, MemoryPeerSide } from './memory-hub.js';
import { MemoryLink } from './memory-link.js';
import { abortError, DEFAULT_MAX_FRAME_BYTES } from './transport-util.js';
import type { Connection, ConnectOptions, ListenOptions, Transport, TransportEvents } from './transport.js';

/** Options of {@link createMemoryTransport}. */
export interface MemoryTransportOptions {
  /** The simulated network; transports that should reach each other share one. @default a process-wide hub */
  readonly hub?: MemoryHub;
  /** The name this transport listens on (and reports as its remote address when dialing). @default `memory-<n>` */
  readonly address?: string;
  /** Largest frame sent or accepted, bytes. @default 16 MiB */
  readonly maxFrameBytes?: number;
}

/** Defaults of {@link MemoryTransportOptions}. */
export const MEMORY_TRANSPORT_DEFAULTS = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES } as const;

let defaultHub: MemoryHub | undefined;
let nextName = 0;

/** Fills and validates {@link MemoryTransportOptions}. @throws EparaError `INVALID_OPTIONS` */
export function resolveMemoryTransportOptions(options: MemoryTransportOptions = {}): Required<MemoryTransportOptions> {
  const maxFrameBytes = options.maxFrameBytes ?? MEMORY_TRANSPORT_DEFAULTS.maxFrameBytes;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) invalidOption('maxFrameBytes', maxFrameBytes, 'a positive integer');
  if (options.address !== undefined && (typeof options.address !== 'string' || options.address === '')) {
    invalidOption('address', options.address, 'a non-empty string');
  }
  return {
    hub: options.hub ?? (defaultHub ??= createMemoryHub()),
    address: options.address ?? `memory-${nextName++}`,
    maxFrameBytes,
  };
}

class MemoryTransport extends EventEmitter<TransportEvents> implements Transport, MemoryEndpoint {
  readonly kind = 'memory';
  readonly maxFrameBytes: number;
  readonly #hub: MemoryHub;
  readonly #name: string;
  readonly #connections = new Set<Connection>();
  #listening = false;
  #closed = false;

  constructor(options: Required<MemoryTransportOptions>) {
    super();
    this.#hub = options.hub;
    this.#name = options.address;
    this.maxFrameBytes = options.maxFrameBytes;
  }

  get address(): string | undefined {
    return this.#listening ? this.#name : undefined;
  }

  async listen(options: ListenOptions = {}): Promise<{ address: string }> {
    if (this.#closed) throw new EparaError('CLOSED', 'transport is closed');
    if (options.signal?.aborted === true) throw abortError(options.signal);
    this.#hub.register(this.#name, this);
    this.#listening = true;
    return { address: this.#name };
  }

  async connect(address: string, options: ConnectOptions = {}): Promise<Connection> {
    if (this.#closed) throw new EparaError('CLOSED', 'transport is closed');
    // Yield once, as a real dial does, so that an abort right after the call is honoured.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (options.signal?.aborted === true) throw abortError(options.signal);
    if (this.#closed) throw new EparaError('CLOSED', 'transport is closed');
    const endpoint = this.#hub.lookup(address);
    if (endpoint === undefined) {
      throw new EparaError('PEER_UNAVAILABLE', `nothing listens at memory address \`${address}\``, { address });
    }
    const local = this.#side(address, 'outbound');
    const remote = endpoint.accept(this.#name);
    local.attach(remote);
    remote.attach(local);
    return local.connection;
  }

  accept(dialer: string): MemoryPeerSide {
    const side = this.#side(dialer, 'inbound');
    this.emit('connectionAccepted', { connection: side.connection });
    return side;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listening = false;
    this.#hub.unregister(this.#name, this);
    for (const c of [...this.#connections]) c.close('transport closed');
  }

  #side(remoteAddress: string, direction: 'inbound' | 'outbound'): MemoryPeerSide & { connection: Connection } {
    const link = new MemoryLink(this.#hub, { from: this.#name, to: remoteAddress });
    const max = this.maxFrameBytes;
    const ctl: ConnectionController = createConnection({
      remoteAddress,
      direction,
      maxFrameBytes: max,
      idPrefix: `mem-${direction}`,
      sink: { write: (f) => link.push(f), close: (r) => link.pushClose(r), bufferedBytes: () => link.bufferedBytes },
    });
    const connection = ctl.connection;
    this.#connections.add(connection);
    connection.once('closed', () => this.#connections.delete(connection));
    return {
      connection,
      attach: (peer) => link.attach(peer),
      closedByPeer: (reason) => ctl.closedByMedium({ reason }),
      receive: (frame) => {
        if (frame.byteLength <= max) return ctl.receive(frame);
        const error = new EparaError('PROTOCOL_ERROR', `received frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${max}`);
        ctl.closedByMedium({ reason: 'frame too large', error });
        link.pushClose('frame too large');
      },
    };
  }
}

/**
 * Creates an in-process {@link Transport}: transports on the same {@link MemoryHub} reach each other by name.
 * Frames are copied and delivered asynchronously, in order, with the hub's injectable delay and loss. For
 * tests, simulations and single-process demos.
 *
 * @example
 * ```ts
 * const hub = createMemoryHub();
 * const server = createMemoryTransport({ hub, address: 'edge-1' });
 * await server.listen();
 * const conn = await createMemoryTransport({ hub }).connect('edge-1');
 * ```
 * @throws EparaError `INVALID_OPTIONS` for bad options.
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): Transport {
  return new MemoryTransport(resolveMemoryTransportOptions(options));
}
