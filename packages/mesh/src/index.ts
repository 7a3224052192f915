/**
 * `@epara/mesh` — being built; see its issue.
 *
 * @packageDocumentation
 */
export {};

// transport (wire layer)
export type {
  Transport,
  TransportEvents,
  Connection,
  ConnectionEvents,
  ConnectionClosedEvent,
  ConnectionAcceptedEvent,
  FrameReceivedEvent,
  TransportErroredEvent,
  ListenOptions,
  ConnectOptions,
} from './transport/transport.js';
export { createConnection } from './transport/create-connection.js';
export type { ConnectionSink, ConnectionController, CreateConnectionOptions } from './transport/create-connection.js';
export { createMemoryHub } from './transport/memory-hub.js';
export type { MemoryHub, MemoryFaults, MemoryLinkInfo } from './transport/memory-hub.js';
export { createMemoryTransport, resolveMemoryTransportOptions, MEMORY_TRANSPORT_DEFAULTS } from './transport/memory-transport.js';
export type { MemoryTransportOptions } from './transport/memory-transport.js';
export { createWebSocketTransport } from './transport/websocket-transport.js';
export { resolveWebSocketTransportOptions, WEBSOCKET_TRANSPORT_DEFAULTS } from './transport/websocket-options.js';
export type { WebSocketTransportOptions, WebSocketTlsOptions, WireLogger } from './transport/websocket-options.js';
export { DEFAULT_MAX_FRAME_BYTES } from './transport/transport-util.js';
