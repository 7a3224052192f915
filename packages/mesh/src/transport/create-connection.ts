import { EventEmitter } from 'eventemitter3';
import { EparaError } from '@epara/core';
import { joinFrameParts } from '../protocol/frame-codec.js';
import type { Connection, ConnectionClosedEvent, ConnectionEvents } from './transport.js';

/** What a transport implementation provides for one link: how to write, close and measure its medium. */
export interface ConnectionSink {
  /** Hands one frame to the medium; called only while the connection is open and within `maxFrameBytes`. */
  write(frame: Uint8Array): void;
  /**
   * Hands one frame given as pieces to the medium (see {@link Connection.sendParts}). @default the pieces
   * joined into one `write`
   */
  writeParts?(parts: readonly Uint8Array[]): void;
  /** Tells the medium to close the link; called at most once, after which `write` is never called. */
  close(reason: string): void;
  /** Bytes queued locally, for {@link Connection.bufferedBytes}. @default () => 0 */
  bufferedBytes?(): number;
  /** A handshake starts (see {@link Connection.beginAuthentication}). @default nothing */
  authenticating?(): void;
  /** The peer authenticated (see {@link Connection.markAuthenticated}). @default nothing */
  authenticated?(): void;
}

/** Options of {@link createConnection}. */
export interface CreateConnectionOptions {
  readonly remoteAddress: string;
  readonly direction: 'inbound' | 'outbound';
  /** Frames larger than this are refused by `send` with `PROTOCOL_ERROR`. */
  readonly maxFrameBytes: number;
  readonly sink: ConnectionSink;
  /** Prefix of the generated id. @default direction */
  readonly idPrefix?: string;
}

/** The transport's side of a {@link Connection}: push what the medium delivers. */
export interface ConnectionController {
  /** The connection to hand to users. */
  readonly connection: Connection;
  /** The medium delivered a frame (ignored once closed). */
  receive(frame: Uint8Array): void;
  /** The medium closed the link (peer, network, keepalive…); fires `closed` once with `initiatedLocally: false`. */
  closedByMedium(event: { reason: string; error?: EparaError }): void;
}

let nextId = 0;

type Name = EventEmitter.EventNames<ConnectionEvents>;
type Listener<T extends Name> = EventEmitter.EventListener<ConnectionEvents, T>;

class ManagedConnection extends EventEmitter<ConnectionEvents> implements Connection {
  readonly id: string;
  readonly remoteAddress: string;
  readonly direction: 'inbound' | 'outbound';
  readonly #sink: ConnectionSink;
  readonly #maxFrameBytes: number;
  #closed = false;
  #pending: Uint8Array[] = [];
  #flushScheduled = false;

  constructor(options: CreateConnectionOptions) {
    super();
    this.id = `${options.idPrefix ?? options.direction}-${(nextId++).toString(36)}`;
    this.remoteAddress = options.remoteAddress;
    this.direction = options.direction;
    this.#sink = options.sink;
    this.#maxFrameBytes = options.maxFrameBytes;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  get bufferedBytes(): number {
    return this.#closed ? 0 : (this.#sink.bufferedBytes?.() ?? 0);
  }

  send(frame: Uint8Array): void {
    if (this.#closed) throw new EparaError('CLOSED', `connection ${this.id} is closed`, { connectionId: this.id });
    if (!(frame instanceof Uint8Array)) {
      throw new EparaError('INVALID_INPUT', 'a frame must be a Uint8Array', { connectionId: this.id });
    }
    this.#checkSize(frame.byteLength);
    this.#sink.write(frame);
  }

  sendParts(parts: readonly Uint8Array[]): void {
    if (this.#closed) throw new EparaError('CLOSED', `connection ${this.id} is closed`, { connectionId: this.id });
    let bytes = 0;
    for (const p of parts) {
      if (!(p instanceof Uint8Array)) throw new EparaError('INVALID_INPUT', 'a frame piece must be a Uint8Array', { connectionId: this.id });
      bytes += p.byteLength;
    }
    this.#checkSize(bytes);
    if (this.#sink.writeParts !== undefined && parts.length > 1) return this.#sink.writeParts(parts);
    this.#sink.write(joinFrameParts({ parts, byteLength: bytes }));
  }

  #checkSize(frameBytes: number): void {
    if (frameBytes > this.#maxFrameBytes) {
      throw new EparaError('PROTOCOL_ERROR', `frame of ${frameBytes} bytes exceeds maxFrameBytes ${this.#maxFrameBytes}`, {
        connectionId: this.id,
        frameBytes,
        maxFrameBytes: this.#maxFrameBytes,
      });
    }
  }

  beginAuthentication(): void {
    if (!this.#closed) this.#sink.authenticating?.();
  }

  markAuthenticated(): void {
    if (!this.#closed) this.#sink.authenticated?.();
  }

  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#finish({ reason, initiatedLocally: true });
    this.#sink.close(reason);
  }

  override on<T extends Name>(event: T, fn: Listener<T>, context?: unknown): this {
    super.on(event, fn, context);
    if (event === 'frameReceived') this.#scheduleFlush();
    return this;
  }

  override addListener<T extends Name>(event: T, fn: Listener<T>, context?: unknown): this {
    return this.on(event, fn, context);
  }

  override once<T extends Name>(event: T, fn: Listener<T>, context?: unknown): this {
    super.once(event, fn, context);
    if (event === 'frameReceived') this.#scheduleFlush();
    return this;
  }

  receive(frame: Uint8Array): void {
    if (this.#closed) return;
    if (this.#pending.length > 0 || this.listenerCount('frameReceived') === 0) {
      this.#pending.push(frame);
      return;
    }
    this.emit('frameReceived', { frame });
  }

  closedByMedium(event: { reason: string; error?: EparaError }): void {
    if (this.#closed) return;
    this.#finish({ ...event, initiatedLocally: false });
  }

  #finish(event: ConnectionClosedEvent): void {
    this.#closed = true;
    this.#pending = [];
    this.emit('closed', event);
  }

  // Delivered on a microtask, never inside `on()`, so a listener is never re-entered from its own registration.
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#pending.length === 0) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      while (this.#pending.length > 0 && !this.#closed && this.listenerCount('frameReceived') > 0) {
        this.emit('frameReceived', { frame: this.#pending.shift() as Uint8Array });
      }
    });
  }
}

/**
 * Builds a {@link Connection} for a transport implementation: it handles ids, the closed state, exactly-once
 * `closed`, `CLOSED`/size errors on `send` and buffering of frames that arrive before a listener is attached.
 * The transport supplies a {@link ConnectionSink} and pushes incoming frames into the returned controller.
 *
 * `receive` takes whole frames. A byte stream (TCP, a serial line) has no frame boundaries: the transport
 * frames each message itself, e.g. with a length prefix, and hands `receive` only complete frames.
 *
 * @example
 * ```ts
 * // A stream socket, framed with a 4-byte little-endian length before each frame.
 * const maxFrameBytes = 1 << 20;
 * const ctl = createConnection({
 *   remoteAddress: 'peer', direction: 'outbound', maxFrameBytes,
 *   sink: {
 *     write: (frame) => {
 *       const header = Buffer.alloc(4);
 *       header.writeUInt32LE(frame.byteLength);
 *       socket.write(header);
 *       socket.write(frame);
 *     },
 *     close: () => socket.end(),
 *     bufferedBytes: () => socket.writableLength,
 *   },
 * });
 * let pending = Buffer.alloc(0);
 * socket.on('data', (chunk: Buffer) => {
 *   pending = Buffer.concat([pending, chunk]);
 *   while (pending.byteLength >= 4) {
 *     const length = pending.readUInt32LE(0);
 *     if (length > maxFrameBytes) return ctl.closedByMedium({ reason: 'frame too large' });
 *     if (pending.byteLength < 4 + length) break; // the rest of this frame is still on its way
 *     ctl.receive(pending.subarray(4, 4 + length));
 *     pending = pending.subarray(4 + length);
 *   }
 * });
 * socket.on('close', () => ctl.closedByMedium({ reason: 'socket closed' }));
 * return ctl.connection;
 * ```
 * A complete transport built this way, which passes the transport contract, is in the mesh transports guide.
 */
export function createConnection(options: CreateConnectionOptions): ConnectionController {
  const c = new ManagedConnection(options);
  return {
    connection: c,
    receive: (frame) => c.receive(frame),
    closedByMedium: (event) => c.closedByMedium(event),
  };
}
