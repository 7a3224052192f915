/**
 * `@epara/mesh`: EPARA edge nodes. A node runs requests on its local executor or offloads them to a peer
 * (remaining deadline budget, visited list, hop limit), keeps a synchronized cluster view with a token ring
 * (deltas, failure detection, ring bypass, rejoin with a new epoch), places services from an elected leader
 * (make-before-break), and authenticates peers with a pre-shared key. Transports: WebSocket (default),
 * in-memory, or any {@link Transport} a host implements.
 *
 * @example
 * ```ts
 * import { createNode, createWebSocketTransport } from '@epara/mesh';
 * const node = createNode({ id: 'edge-1', transport: createWebSocketTransport({ port: 0 }), executor, security: { psk } });
 * await node.start();
 * const out = await node.submit('seg', { x }, { deadline: Date.now() + 100 });
 * ```
 *
 * @packageDocumentation
 */

// node
export { createNode } from './node/create-node.js';
export { MeshNode } from './node/mesh-node.js';
export type { NodeSubmitOptions, NodeStreamOptions } from './node/mesh-node.js';
export type { WhenViewOptions } from './node/when-view.js';
export { resolveNodeOptions, NODE_DEFAULTS } from './node/node-options.js';
export type { NodeOptions, NodeSecurity, ResolvedNodeOptions } from './node/node-options.js';
export type { NodeEvents, NodeStats } from './node/node-events.js';
export type { MeshStream } from './offload/remote-stream.js';
export { isOffloader } from './offload/offloader.js';
export type { Offloader, OffloaderContext, OffloaderFactory, OffloadForwardOptions } from './offload/offloader.js';
export type { PlacementAppliedEvent } from './placement/placement-applier.js';
export type { PlacementPayload, PlacementDecision, DeviceReport, HostedDevices } from './placement/placement-payload.js';
export { resolveCoordinatorOptions, COORDINATOR_DEFAULTS } from './placement/coordinator-options.js';
export type { CoordinatorOptions, ResolvedCoordinatorOptions } from './placement/coordinator-options.js';
export type { DemandForecast } from './placement/demand-forecast.js';
export type { SyncFaults } from './sync/sync-faults.js';
export type { SyncToken, WireEntry, EntryStub, SyncMessage } from './sync/sync-types.js';
export { RingSync } from './sync/ring-sync.js';
export type { RingSyncConfig, RingSyncEvents, SyncTarget } from './sync/ring-sync.js';
export type { ViewSync, ViewSyncEvents, ViewSyncContext, ViewSyncFactory, ViewUpdate } from './sync/view-sync.js';
export type { SelfState } from './sync/view-store.js';
export { monotonicClock } from './util/monotonic-clock.js';

// testing and ports
export { createFakeExecutor } from './testing/fake-executor.js';
export type { FakeExecutor, FakeExecutorOptions, FakeServiceConfig } from './testing/fake-executor.js';

// transport (`createConnection` for transport authors is in `@epara/mesh/wire`)
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
/** The typed event emitter (eventemitter3) mesh objects extend; custom transports can extend it too. */
export { EventEmitter } from 'eventemitter3';
export { createMemoryHub } from './transport/memory-hub.js';
export type { MemoryHub, MemoryFaults, MemoryLinkInfo } from './transport/memory-hub.js';
export { createMemoryTransport, resolveMemoryTransportOptions, MEMORY_TRANSPORT_DEFAULTS } from './transport/memory-transport.js';
export type { MemoryTransportOptions } from './transport/memory-transport.js';
export { createWebSocketTransport } from './transport/websocket-transport.js';
export { resolveWebSocketTransportOptions, WEBSOCKET_TRANSPORT_DEFAULTS } from './transport/websocket-options.js';
export type { WebSocketTransportOptions, WebSocketTlsOptions } from './transport/websocket-options.js';

// protocol: codecs, message types, limits and the peer channel are in `@epara/mesh/wire`
export type { ProtocolLimits, ResolvedProtocolLimits } from './protocol/protocol-limits.js';

// security (wire layer)
export { secureConnection } from './security/secure-connection.js';
export type { SecureLink } from './security/secure-connection.js';
export { resolveSecureConnectionOptions, SECURE_CONNECTION_DEFAULTS, PRE_AUTH_MAX_FRAME_BYTES } from './security/secure-connection-options.js';
export type { SecureConnectionOptions, ResolvedSecureConnectionOptions } from './security/secure-connection-options.js';
export { createRateLimiter, resolveRateLimiterOptions, RATE_LIMITER_DEFAULTS } from './security/rate-limiter.js';
export type { RateLimiter, RateLimiterOptions, ResolvedRateLimiterOptions } from './security/rate-limiter.js';
export { MIN_PSK_BYTES } from './security/psk-proof.js';

// observability: Prometheus metrics (prom-client is an optional peer dependency)
export { createMeshMetrics } from './observability/mesh-metrics.js';
export type { MeshMetrics, MeshMetricsOptions, MetricsNode } from './observability/mesh-metrics.js';
export type { DelayProbe } from './placement/placement-payload.js';
export type { ResolvedWebSocketTransportOptions } from './transport/websocket-options.js';
export type { MemoryEndpoint, MemoryPeerSide } from './transport/memory-hub.js';
