import type { EventEmitter } from 'eventemitter3';
import type { AbortSignalLike, EparaError } from '@epara/core';

/**
 * Payload of {@link ConnectionEvents.frameReceived}: one whole binary frame, exactly as the peer sent it.
 * The bytes may be a view into a larger buffer; the receiver owns them from now on (no one else writes them).
 */
export interface FrameReceivedEvent {
  readonly frame: Uint8Array;
}

/** Payload of {@link ConnectionEvents.closed}. */
export interface ConnectionClosedEvent {
  /** Human-readable reason (the one passed to `close(reason)` on either side when the transport carries it). */
  readonly reason: string;
  /** True when this side called `close()` (or its transport closed); false when the peer or the network did. */
  readonly initiatedLocally: boolean;
  /**
   * Set when the link failed rather than closed cleanly: `PEER_UNAVAILABLE` (peer vanished, keepalive
   * timeout), `PROTOCOL_ERROR` (oversized or non-binary frame), `CLOSED` (transport closed).
   */
  readonly error?: EparaError;
}

/** Events of a {@link Connection} (eventemitter3 object map, past-tense names). */
export interface ConnectionEvents {
  /**
   * A frame arrived. Frames arrive in the order the peer sent them. Frames that arrive before the first
   * listener is attached are buffered and delivered, in order, once one is attached.
   */
  frameReceived: [FrameReceivedEvent];
  /** The connection closed; fires exactly once. No frame is delivered after it. */
  closed: [ConnectionClosedEvent];
}

/**
 * A duplex, message-oriented link to one peer that carries whole binary frames, in order, reliably (a
 * frame is delivered whole or the connection closes). Frame boundaries are preserved: one `send` is one
 * `frameReceived` on the other side, including empty frames.
 *
 * A connection is not authenticated by itself: wrap it with `secureConnection` before trusting the peer.
 */
export interface Connection extends EventEmitter<ConnectionEvents> {
  /** Unique within the process. */
  readonly id: string;
  /** Where the peer is, as the transport knows it (`ip:port`, a hub name, a broker subject…). For logs only. */
  readonly remoteAddress: string;
  /** `outbound` for connections made with {@link Transport.connect}, `inbound` for accepted ones. */
  readonly direction: 'inbound' | 'outbound';
  /** True once `closed` has fired or `close()` was called. */
  readonly isClosed: boolean;
  /**
   * Bytes queued locally and not yet handed to the network: a sender that cares about backpressure waits
   * or sheds load while this is high. Transports without a local buffer report 0.
   */
  readonly bufferedBytes: number;
  /**
   * Queues one frame for the peer and returns at once (never blocks). After the call the transport owns
   * `frame`: do not modify it.
   *
   * @throws EparaError `CLOSED` when the connection is closed or closing.
   * @throws EparaError `PROTOCOL_ERROR` when the frame is larger than the transport's `maxFrameBytes`.
   */
  send(frame: Uint8Array): void;
  /**
   * Queues one frame given as pieces (its bytes are the pieces' in order; the peer receives one frame, as from
   * `send`), without joining them first: a WebSocket sends them as the fragments of one message. After the call
   * the transport owns the pieces: do not modify them. Optional: `sendFrameParts` joins the pieces for a
   * connection without it.
   *
   * @throws EparaError as {@link send}, for the whole frame.
   */
  sendParts?(parts: readonly Uint8Array[]): void;
  /** Closes the link (idempotent); both sides see `closed`. Frames already queued may or may not arrive. */
  close(reason?: string): void;
  /**
   * A handshake starts on this link (`secureConnection` calls this as it starts, synchronously from
   * `connectionAccepted`): until {@link markAuthenticated}, the transport may hold the link to limits it
   * keeps for unauthenticated peers (bytes before the handshake, how many may be pending). A link on which
   * no handshake starts is left alone: its host reads it unauthenticated on purpose. Optional.
   */
  beginAuthentication?(): void;
  /** The handshake succeeded: the transport lifts its pre-authentication limits. Optional. */
  markAuthenticated?(): void;
}

/** Payload of {@link TransportEvents.connectionAccepted}. */
export interface ConnectionAcceptedEvent {
  readonly connection: Connection;
}

/** Payload of {@link TransportEvents.errored}: a background failure not tied to a call (e.g. a bad handshake). */
export interface TransportErroredEvent {
  readonly error: EparaError;
}

/** Events of a {@link Transport}. */
export interface TransportEvents {
  /** A peer dialed this transport's address. Attach listeners to `connection` synchronously or later: frames are buffered. */
  connectionAccepted: [ConnectionAcceptedEvent];
  /** A background failure (listener error, rejected handshake); informational, the transport keeps running. */
  errored: [TransportErroredEvent];
}

/** Options of {@link Transport.listen}. */
export interface ListenOptions {
  readonly signal?: AbortSignalLike;
}

/** Options of {@link Transport.connect}. */
export interface ConnectOptions {
  /**
   * Aborts the attempt: the promise rejects with `ABORTED` and no connection is left open.
   */
  readonly signal?: AbortSignalLike;
}

/**
 * How nodes reach each other. A host can implement it over any message-carrying medium: sockets
 * (WebSocket, TCP), an in-process hub, or a broker with request/reply (NATS), as long as it provides
 * ordered, reliable, frame-preserving duplex {@link Connection}s between an address and a dialer.
 * `runTransportContract` checks an implementation.
 *
 * @example
 * ```ts
 * const a = createMemoryTransport({ hub, address: 'a' });
 * const b = createMemoryTransport({ hub, address: 'b' });
 * a.on('connectionAccepted', ({ connection }) => connection.on('frameReceived', ({ frame }) => connection.send(frame)));
 * await a.listen();
 * const conn = await b.connect('a');
 * conn.send(new Uint8Array([1, 2, 3]));
 * ```
 */
export interface Transport extends EventEmitter<TransportEvents> {
  /** A short name of the implementation (`'memory'`, `'websocket'`, `'nats'`…), for logs and metrics. */
  readonly kind: string;
  /** True when the transport verifies peers' client certificates (mutual TLS). @default undefined (no) */
  readonly clientAuth?: boolean;
  /** Largest frame this transport sends or accepts, bytes. */
  readonly maxFrameBytes: number;
  /** The address peers dial, once {@link listen} has resolved; `undefined` before. */
  readonly address: string | undefined;
  /**
   * Starts accepting connections; resolves with the address peers should dial (the real port when port 0
   * was asked). Calling it again returns the same address. A transport that is only used to dial never
   * needs to listen.
   *
   * @throws EparaError `CLOSED` after `close()`; `INVALID_OPTIONS` when the address cannot be bound;
   * `ABORTED` when `signal` fires first.
   */
  listen(options?: ListenOptions): Promise<{ address: string }>;
  /**
   * Opens a connection to the transport listening at `address`.
   *
   * @throws EparaError `PEER_UNAVAILABLE` promptly when nothing listens there or the attempt fails;
   * `ABORTED` when `signal` fires first; `CLOSED` after `close()`.
   */
  connect(address: string, options?: ConnectOptions): Promise<Connection>;
  /**
   * Stops listening and closes every connection it accepted or opened (each fires `closed`). Idempotent;
   * later `listen`/`connect` calls reject with `CLOSED`.
   */
  close(): Promise<void>;
}
