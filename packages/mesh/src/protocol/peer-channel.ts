import { EventEmitter } from 'eventemitter3';
import { EparaError, toEparaError } from '@epara/core';
import type { Connection, ConnectionClosedEvent } from '../transport/transport.js';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES, FRAME_MAGIC, isChecksumError } from './frame-codec.js';
import { MESSAGE_TYPE_CODES } from './messages.js';
import type { DecodedMessage, WireMessage } from './messages.js';
import type { ProtocolLimits } from './protocol-limits.js';
import { resolveProtocolLimits } from './protocol-limits.js';

/** Payload of {@link PeerChannelEvents.malformedFrameReceived}. */
export interface MalformedFrameEvent {
  readonly error: EparaError;
  /**
   * The request id the frame carried, when its header could be read. The peer was answered with an `error`
   * under it only when the frame was one of the peer's own requests (`submit`, `stream-open`, `stream-frame`):
   * any other frame's id is this side's (an answer to its request) or none.
   */
  readonly requestId: number | undefined;
}

/** Events of a {@link PeerChannel}. */
export interface PeerChannelEvents {
  /** A valid message arrived, in order. */
  messageReceived: [DecodedMessage];
  /** A frame failed validation; the node keeps running (and, by default, closes this link). */
  malformedFrameReceived: [MalformedFrameEvent];
  /** The underlying connection closed. */
  closed: [ConnectionClosedEvent];
}

/** Options of {@link createPeerChannel}. */
export interface PeerChannelOptions {
  /** The peer's authenticated id (from `secureConnection`), kept for the node's bookkeeping. */
  readonly peerId: string;
  /** Codec limits. @default PROTOCOL_LIMIT_DEFAULTS */
  readonly limits?: ProtocolLimits;
  /** Close the link after a malformed frame (a correct peer never sends one). @default true */
  readonly closeOnMalformed?: boolean;
}

/** Messages over a connection: encode on `send`, decode and validate every incoming frame. */
export interface PeerChannel extends EventEmitter<PeerChannelEvents> {
  readonly peerId: string;
  readonly connection: Connection;
  readonly isClosed: boolean;
  /**
   * Encodes and sends one message.
   * @throws EparaError `CLOSED` when closed; `INVALID_INPUT` for a value the format cannot carry;
   * `PROTOCOL_ERROR` when the frame exceeds the limits.
   */
  send(message: WireMessage): void;
  close(reason?: string): void;
}

// The request id of a frame whose body is broken, so the peer's request can be failed instead of hanging.
/** Frames whose request id the peer numbered, and that it waits an answer for. */
const PEER_REQUESTS: ReadonlySet<number> = new Set([MESSAGE_TYPE_CODES.submit, MESSAGE_TYPE_CODES['stream-open'], MESSAGE_TYPE_CODES['stream-frame']]);

/** Whether the frame (its header readable) is one of the peer's requests: an `error` under its id answers it. */
function isPeerRequest(frame: Uint8Array): boolean {
  return frame.byteLength >= FRAME_HEADER_BYTES && PEER_REQUESTS.has(frame[3]!);
}

function peekRequestId(frame: Uint8Array): number | undefined {
  if (frame.byteLength < FRAME_HEADER_BYTES) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  return v.getUint16(0, true) === FRAME_MAGIC ? v.getUint32(8, true) : undefined;
}

class Channel extends EventEmitter<PeerChannelEvents> implements PeerChannel {
  readonly peerId: string;
  readonly connection: Connection;
  readonly #limits: ProtocolLimits;
  readonly #closeOnMalformed: boolean;

  constructor(connection: Connection, options: PeerChannelOptions) {
    super();
    this.peerId = options.peerId;
    this.connection = connection;
    this.#limits = options.limits ?? {};
    resolveProtocolLimits(this.#limits);
    this.#closeOnMalformed = options.closeOnMalformed ?? true;
    connection.on('frameReceived', ({ frame }) => this.#onFrame(frame));
    connection.once('closed', (e) => this.emit('closed', e));
  }

  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  send(message: WireMessage): void {
    if (this.connection.isClosed) throw new EparaError('CLOSED', `link to ${this.peerId} is closed`, { peerId: this.peerId });
    this.connection.send(encodeFrame(message, this.#limits));
  }

  close(reason?: string): void {
    this.connection.close(reason);
  }

  #onFrame(frame: Uint8Array): void {
    let message: DecodedMessage;
    try {
      message = decodeFrame(frame, this.#limits);
    } catch (err) {
      // A corrupted frame's request id is not to be believed either: answering it could fail another request.
      const requestId = isChecksumError(err) ? undefined : peekRequestId(frame);
      return this.#malformed(toEparaError(err, 'PROTOCOL_ERROR'), requestId, requestId !== undefined && isPeerRequest(frame));
    }
    this.emit('messageReceived', message);
  }

  #malformed(error: EparaError, requestId: number | undefined, answer: boolean): void {
    this.emit('malformedFrameReceived', { error, requestId });
    if (this.connection.isClosed) return;
    // Only the peer's own request is answered: a broken answer to one of this side's requests carries this
    // side's id, which the peer would take for one of its own and fail.
    if (answer && requestId !== 0) {
      this.connection.send(encodeFrame({ type: 'error', requestId, error }, this.#limits));
    }
    if (this.#closeOnMalformed) this.connection.close(`protocol error: ${error.message}`.slice(0, 100));
  }
}

/**
 * Wraps a (usually authenticated) connection into a message channel. Attach listeners right after
 * creating it. A malformed frame never throws out of the channel: it is reported, answered with a
 * `PROTOCOL_ERROR` error for its request id when it is one of the peer's requests with a readable id, and the
 * link closed (by default).
 *
 * @example
 * ```ts
 * const { peerId, connection } = await secureConnection(raw, { psk, selfId, role: 'server' });
 * const channel = createPeerChannel(connection, { peerId });
 * channel.on('messageReceived', (m) => { if (m.type === 'ping') channel.send({ type: 'pong', requestId: m.requestId }); });
 * ```
 * @throws EparaError `INVALID_OPTIONS` for bad limits.
 */
export function createPeerChannel(connection: Connection, options: PeerChannelOptions): PeerChannel {
  return new Channel(connection, options);
}
