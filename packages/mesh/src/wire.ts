/**
 * `@epara/mesh/wire`: the wire layer for authors of transports, view syncs and offloaders outside this package
 * (`@epara/mesh-nats` is built on it): the binary frame, message and view codecs, protocol limits, and the
 * helpers a transport needs to turn a byte pipe into a {@link Connection}.
 *
 * @example
 * ```ts
 * import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
 * const bytes = encodeFrame({ type: 'ping', requestId: 1 });
 * const message = decodeFrame(bytes);
 * ```
 *
 * @packageDocumentation
 */
import type { Connection } from './transport/transport.js';

export type { Connection };
export { encodeFrame, encodeFrameParts, joinFrameParts, sendFrameParts, decodeFrame, readFrameHeader, PROTOCOL_VERSION, FRAME_HEADER_BYTES, FRAME_MAGIC, FRAME_FLAG_CHECKSUM, PASS_THROUGH_MIN_BYTES } from './protocol/frame-codec.js';
export type { FrameHeader, FrameParts } from './protocol/frame-codec.js';
export { MESSAGE_TYPE_CODES, SUBMIT_FLAG_TRACE } from './protocol/messages.js';
export type {
  Incarnation,
  IncarnationMessage,
  LimitsMessage,
  WireMessage,
  WireMessageType,
  DecodedMessage,
  HelloMessage,
  AuthChallengeMessage,
  AuthResponseMessage,
  AuthOkMessage,
  SubmitMessage,
  ResultMessage,
  ErrorMessage,
  CancelMessage,
  StreamOpenMessage,
  StreamAcceptedMessage,
  StreamFrameMessage,
  StreamResultMessage,
  StreamCloseMessage,
  SyncTokenMessage,
  SyncAckMessage,
  PlacementMessage,
  PingMessage,
  PongMessage,
} from './protocol/messages.js';
export { DTYPE_CODES } from './protocol/tensor-codec.js';
export { encodeViewEntries, decodeViewEntries } from './protocol/view-codec.js';
export type { EntryRun, WireViewEntry, WireEntryStub, WireSyncToken } from './protocol/view-codec.js';
export { resolveProtocolLimits, PROTOCOL_LIMIT_DEFAULTS } from './protocol/protocol-limits.js';
export type { ProtocolLimits, ResolvedProtocolLimits } from './protocol/protocol-limits.js';
export { createConnection } from './transport/create-connection.js';
export type { ConnectionSink, ConnectionController, CreateConnectionOptions } from './transport/create-connection.js';
export { DEFAULT_MAX_FRAME_BYTES, abortError, withAbort } from './transport/transport-util.js';
export { createPeerChannel } from './protocol/peer-channel.js';
export type { PeerChannel, PeerChannelEvents, PeerChannelOptions, MalformedFrameEvent } from './protocol/peer-channel.js';
