/**
 * `@epara/mesh/testing`: what a host or a transport author needs to test against EPARA without real models or
 * sockets — the fake executor (the `LocalExecutor` port with scripted latencies), the sync fault injector,
 * fast-check arbitraries of every wire message (fast-check is an optional peer), and the transport contract suite
 * that every built-in transport passes (run it under vitest against your own `Transport`). Virtual time is core's
 * `createManualTimers` over `createManualClock`.
 *
 * @example
 * ```ts
 * import { runTransportContract } from '@epara/mesh/testing';
 * import { createMemoryHub, createMemoryTransport } from '@epara/mesh';
 * const hub = createMemoryHub();
 * runTransportContract('memory', {
 *   createServer: () => createMemoryTransport({ hub }),
 *   createClient: () => createMemoryTransport({ hub }),
 *   deadAddress: () => 'nobody-listens-here',
 * });
 * ```
 *
 * @packageDocumentation
 */
export { createFakeExecutor } from './testing/fake-executor.js';
export type { FakeExecutor, FakeExecutorOptions, FakeExecutorStats, FakeServiceConfig } from './testing/fake-executor.js';
export { runExecutorContract } from './testing/executor-contract.js';
export type { ContractExecutor, ExecutorContractFactory } from './testing/executor-contract.js';
export { runTransportContract } from './transport/transport-contract.js';
export type { TransportContractFactory } from './transport/transport-contract.js';
export { closedOf, codeOf, collectFrames, nextAccepted, echo, patternBytes, sameBytes } from './transport/transport-contract-helpers.js';
export { createFaultInjector } from './sync/sync-faults.js';
export type { FaultInjector } from './sync/sync-faults.js';
export { messageArb } from './protocol/wire-arbitraries.js';
export { runViewSyncContract } from './sync/view-sync-contract.js';
export type { ViewSyncContractFactory, ViewSyncCluster } from './sync/view-sync-contract.js';
export { runOffloaderContract } from './offload/offloader-contract.js';
export type { OffloaderContractFactory, OffloaderCluster, OffloaderMember } from './offload/offloader-contract.js';
