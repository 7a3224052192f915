import type { EparaError, NamedTensors, ServiceId, TraceContext } from '@epara/core';
import type { WireSyncToken } from './view-codec.js';

/** Wire codes of message types (stable across versions: append only). */
export const MESSAGE_TYPE_CODES = {
  hello: 1,
  'auth-challenge': 2,
  'auth-response': 3,
  'auth-ok': 4,
  submit: 5,
  result: 6,
  error: 7,
  cancel: 8,
  'stream-open': 9,
  'stream-accepted': 10,
  'stream-frame': 11,
  'stream-result': 12,
  'stream-close': 13,
  'sync-token': 14,
  'sync-ack': 15,
  placement: 16,
  ping: 17,
  pong: 18,
  incarnation: 19,
  limits: 20,
} as const;

/** The kind of a {@link WireMessage}. */
export type WireMessageType = keyof typeof MESSAGE_TYPE_CODES;

/**
 * Fields every message has. `requestId` ties replies to requests (`submit` → `result`/`error`/`cancel`;
 * a stream's messages share the id of its `stream-open`); 0 when unused. `flags` are per type; a reader ignores the bits it does not know ({@link SUBMIT_FLAG_TRACE} is the only one so far).
 */
interface Base {
  readonly requestId?: number;
  readonly flags?: number;
}

/**
 * Which run of a server a link belongs to: a process announces one incarnation on every link it opens or
 * accepts. `epoch` is the run's announced epoch (a restarted server uses a larger one); `instance` is a random
 * integer (below 2^53) drawn once per process, telling two runs with the same epoch apart.
 */
export interface Incarnation {
  readonly epoch: number;
  readonly instance: number;
}

/**
 * The sender's {@link Incarnation}: the first frame each side sends on a link once the handshake is done. A
 * build that does not know the type rejects the frame (`frameRejected`) and keeps the link.
 */
export interface IncarnationMessage extends Base, Incarnation {
  readonly type: 'incarnation';
}

/**
 * The largest frame the sender takes (the smaller of its transport's and its codec's `maxFrameBytes`): sent right
 * after its `incarnation`, so the peer never sends it a larger one — a frame over it would close the link, and the
 * request it carried, routed again to the same peer, would close the next. A build that does not know the type
 * rejects the frame (`frameRejected`) and keeps the link.
 */
export interface LimitsMessage extends Base {
  readonly type: 'limits';
  readonly maxFrameBytes: number;
}

/** First message of the dialer: who it is and its challenge nonce. */
export interface HelloMessage extends Base {
  readonly type: 'hello';
  readonly peerId: string;
  readonly nonce: Uint8Array;
}
/** The acceptor's identity and its challenge nonce (no proof yet: the dialer proves the key first). */
export interface AuthChallengeMessage extends Base {
  readonly type: 'auth-challenge';
  readonly peerId: string;
  readonly nonce: Uint8Array;
}
/** The dialer's proof of the key over both nonces and both ids. */
export interface AuthResponseMessage extends Base {
  readonly type: 'auth-response';
  readonly proof: Uint8Array;
}
/** The acceptor accepted the dialer's proof and proves the key in turn; authenticated both ways. */
export interface AuthOkMessage extends Base {
  readonly type: 'auth-ok';
  readonly proof: Uint8Array;
}
/**
 * A request forwarded to a peer. The deadline travels as the remaining budget (clock-skew safe): the
 * receiver sets `deadline = its now + budgetMs` (minus its estimate of the hop, if it wants).
 */
export interface SubmitMessage extends Base {
  readonly type: 'submit';
  readonly serviceId: ServiceId;
  /** Milliseconds left until the deadline when the frame was built (may be ≤ 0: already late). */
  readonly budgetMs: number;
  /** Hops already taken. */
  readonly hops: number;
  /** Hop limit the origin set. */
  readonly maxHops: number;
  /** Servers that already saw this request (never forward to them). */
  readonly visited: readonly string[];
  readonly priority: number;
  readonly inputs: NamedTensors;
  /**
   * The request's trace context (W3C `traceparent`, `tracestate`, request id). Sent after the fixed fields
   * and marked by {@link SUBMIT_FLAG_TRACE}; a frame without it is byte for byte a version-1 submit.
   */
  readonly trace?: TraceContext;
}

/** Header flag of a `submit` frame whose metadata ends with a trace context. */
export const SUBMIT_FLAG_TRACE = 0x0001;

/**
 * Header flag of an `incarnation` frame: the sender reads entry runs in sync tokens, so tokens sent to it may
 * carry them ({@link SYNC_FLAG_RUNS}). An older build ignores the bit, and is sent tokens without runs.
 */
export const INCARNATION_FLAG_RUNS = 0x0001;

/** Header flag of a `sync-token` frame whose metadata ends with each entry's run (`WireViewEntry.run`). */
export const SYNC_FLAG_RUNS = 0x0001;

/**
 * Header flag of an `incarnation` frame: the sender reads entry items in sync tokens ({@link SYNC_FLAG_ITEMS}).
 * An older build ignores the bit, and is sent tokens without them.
 */
export const INCARNATION_FLAG_ITEMS = 0x0002;

/** Header flag of a `sync-token` frame whose metadata ends with each entry's items (`WireViewEntry.items`), after its runs. */
export const SYNC_FLAG_ITEMS = 0x0002;

export interface ResultMessage extends Base {
  readonly type: 'result';
  readonly outputs: NamedTensors;
}
/** A typed failure of a request or stream; the code survives the wire. */
export interface ErrorMessage extends Base {
  readonly type: 'error';
  readonly error: EparaError;
}
/** The origin gave up on the request (its AbortSignal fired). */
export interface CancelMessage extends Base {
  readonly type: 'cancel';
  readonly reason: string;
}
/** Opens a stream on the peer; answered by `stream-accepted` or `error`. */
export interface StreamOpenMessage extends Base {
  readonly type: 'stream-open';
  readonly serviceId: ServiceId;
  readonly rateHz: number;
  /** Omitted (encoded as -1): the service SLO. */
  readonly stalenessMs?: number;
  readonly hops: number;
  readonly visited: readonly string[];
}
export interface StreamAcceptedMessage extends Base {
  readonly type: 'stream-accepted';
  /** The instance the stream is pinned to, for diagnostics. */
  readonly instanceId: string;
}
export interface StreamFrameMessage extends Base {
  readonly type: 'stream-frame';
  readonly seq: number;
  readonly inputs: NamedTensors;
}
export type StreamResultMessage = Base & { readonly type: 'stream-result'; readonly seq: number } & (
    | { readonly ok: true; readonly outputs: NamedTensors; readonly latencyMs: number }
    | { readonly ok: false; readonly error: EparaError }
  );
/** Either side ends the stream; the serving side attaches its counters. */
export interface StreamCloseMessage extends Base {
  readonly type: 'stream-close';
  readonly reason: string;
  readonly summary?: { readonly pushed: number; readonly completed: number; readonly dropped: number };
}
export interface SyncTokenMessage extends Base {
  readonly type: 'sync-token';
  readonly from: string;
  readonly token: WireSyncToken;
}
export interface SyncAckMessage extends Base {
  readonly type: 'sync-ack';
  readonly from: string;
  readonly origin: string;
  readonly epoch: number;
  readonly round: number;
}
/** A placement decision or report; rare, so its payload is JSON. */
export interface PlacementMessage extends Base {
  readonly type: 'placement';
  readonly payload: unknown;
}
export interface PingMessage extends Base {
  readonly type: 'ping';
}
export interface PongMessage extends Base {
  readonly type: 'pong';
}

/** Every message of protocol version 1. */
export type WireMessage =
  | HelloMessage
  | AuthChallengeMessage
  | AuthResponseMessage
  | AuthOkMessage
  | SubmitMessage
  | ResultMessage
  | ErrorMessage
  | CancelMessage
  | StreamOpenMessage
  | StreamAcceptedMessage
  | StreamFrameMessage
  | StreamResultMessage
  | StreamCloseMessage
  | SyncTokenMessage
  | SyncAckMessage
  | PlacementMessage
  | PingMessage
  | PongMessage
  | IncarnationMessage
  | LimitsMessage;

/** A decoded message: like {@link WireMessage} with `requestId` and `flags` always present. */
export type DecodedMessage = WireMessage & { readonly requestId: number; readonly flags: number };
