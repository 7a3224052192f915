/**
 * `@epara/mesh-nats`: EPARA's mesh on a NATS deployment, for scale-out — a `Transport` whose links are
 * NATS subjects, a view sync on JetStream KV, and an offloader through queue groups (the broker picks the
 * server). Each plugs into `createNode` from `@epara/mesh` through its public seams.
 *
 * @example
 * ```ts
 * import { createNode } from '@epara/mesh';
 * import { connectNats, createNatsTransport } from '@epara/mesh-nats';
 * const nc = await connectNats({ servers: 'nats://127.0.0.1:4222' });
 * const transport = createNatsTransport({ connection: nc, name: 'edge-a' });
 * ```
 *
 * @packageDocumentation
 */
export { createNatsTransport } from './nats-transport.js';
export { resolveNatsTransportOptions, NATS_TRANSPORT_DEFAULTS } from './nats-transport-options.js';
export type { NatsTransportOptions } from './nats-transport-options.js';
export { connectNats } from './nats-connect.js';
export type { NatsAuth, NatsTlsOptions, NatsConnectOptions, NatsConnection } from './nats-connect.js';
export { createNatsViewSync, runKeyOf, viewKeyOf } from './nats-view-sync.js';
export type { NatsViewSync, NatsViewSyncEvents } from './nats-view-sync.js';
export { resolveNatsViewSyncOptions, NATS_VIEW_SYNC_DEFAULTS } from './nats-view-sync-options.js';
export type { NatsViewSyncOptions } from './nats-view-sync-options.js';
export { createNatsOffloader } from './nats-offloader.js';
export type { NatsOffloader, NatsForwardOptions, NatsOffloaderStats } from './nats-offloader.js';
export { resolveNatsOffloaderOptions, NATS_OFFLOADER_DEFAULTS } from './nats-offload-options.js';
export type { NatsOffloaderOptions } from './nats-offload-options.js';
export type { ResolvedNatsOffloaderOptions } from './nats-offload-options.js';
export type { ResolvedNatsTransportOptions } from './nats-transport-options.js';
export type { ResolvedNatsViewSyncOptions } from './nats-view-sync-options.js';
