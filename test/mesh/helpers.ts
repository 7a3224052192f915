import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, createWebSocketTransport } from '@epara/mesh';
import type { FakeExecutor, MemoryHub, MeshNode, NodeOptions, Transport } from '@epara/mesh';
import type { Logger, NamedTensors, ServiceSpec } from '@epara/core';
import { affineProfile } from '@epara/core';

export const PSK = 'test-psk-0123456789abcdef';

/** The service catalog of the tests: `echo` (latency, 200 ms SLO). */
export const ECHO: ServiceSpec = {
  id: 'echo',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 200 },
  memory: { weightsBytes: 10e6, perItemBytes: 1e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 5, perItemMs: 1, maxBatch: 8 }) },
};

export interface ClusterNode {
  readonly id: string;
  readonly node: MeshNode;
  readonly executor: FakeExecutor;
  readonly transport: Transport;
}

export interface ClusterSpec {
  readonly size: number;
  readonly kind: 'memory' | 'ws';
  /** Which node indexes host `echo` from the start. */
  readonly hosted: readonly number[];
  readonly serviceTimeMs?: number;
  readonly maxQueue?: number;
  readonly node?: Partial<NodeOptions>;
  /** The network of a `memory` cluster (to inject faults into it). @default a new hub */
  readonly hub?: MemoryHub;
}

/** Starts `size` nodes `n0…`, each seeded with n0's address, and waits until every view has them all. */
export async function startCluster(spec: ClusterSpec): Promise<ClusterNode[]> {
  const hub = spec.hub ?? createMemoryHub();
  const out: ClusterNode[] = [];
  for (let i = 0; i < spec.size; i++) {
    const id = `n${i}`;
    const transport = spec.kind === 'memory' ? createMemoryTransport({ hub, address: id }) : createWebSocketTransport({ host: '127.0.0.1', port: 0 });
    const executor = createFakeExecutor({
      services: { echo: { serviceTimeMs: spec.serviceTimeMs ?? 5, maxQueue: spec.maxQueue ?? 64 } },
      hosted: spec.hosted.includes(i) ? ['echo'] : [],
      tag: i,
    });
    const node = createNode({
      id,
      transport,
      executor,
      security: { psk: PSK },
      seeds: i === 0 ? [] : [out[0]!.node.address!],
      services: [ECHO],
      devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
      syncPeriodMs: 50,
      syncAckTimeoutMs: 400,
      placement: false,
      ...spec.node,
    });
    watch(node);
    await node.start();
    out.push({ id, node, executor, transport });
  }
  await until(() => out.every((c) => aliveIds(c.node).length === spec.size), 'every node sees the whole cluster');
  return out;
}

export const aliveIds = (node: MeshNode): string[] =>
  Object.values(node.view().entries)
    .filter((e) => e.alive)
    .map((e) => e.serverId)
    .sort();

/** Every node event: whatever changes what a test waits for comes with one of these (a view change with `viewChanged`). */
const NODE_EVENTS = ['peerJoined', 'peerLeft', 'viewChanged', 'requestOffloaded', 'requestCompleted', 'frameCompleted', 'requestReceived', 'requestRejected', 'placementApplied', 'placementComputed', 'syncCompleted', 'frameRejected'] as const;

/** A view sync on its own (a NATS KV view beside a node): its view changes and rounds. */
const SYNC_EVENTS = ['viewUpdated', 'peerJoined', 'peerLeft', 'roundCompleted'] as const;

/** What {@link until} can listen to: a node, or a view sync used without one. */
interface Watchable {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}
/** Sources whose events {@link until} re-checks its condition on ({@link startCluster} adds its nodes). */
const watched = new Map<Watchable, readonly string[]>();
/** The re-checks of the pending {@link until} calls, run by {@link changed}. */
const pending = new Set<() => void>();

/** Makes {@link until} re-check on the events of these nodes (for nodes a test creates itself). */
export function watch(...nodes: MeshNode[]): void {
  for (const n of nodes) watched.set(n as unknown as Watchable, NODE_EVENTS);
}

/** Makes {@link until} re-check on the view updates and rounds of these view syncs (used without a node). */
export function watchSync(...syncs: { on(event: 'viewUpdated', listener: () => void): unknown }[]): void {
  for (const s of syncs) watched.set(s as unknown as Watchable, SYNC_EVENTS);
}

/**
 * Tells the pending {@link until} calls that state a test keeps itself changed (a list a hook appends to,
 * a counter a wrapper bumps): they re-check now. State the nodes keep comes with a node event instead.
 */
export function changed(): void {
  for (const recheck of [...pending]) recheck();
}

/**
 * Waits for a condition that background activity (sync rounds, view changes, requests, placements) makes
 * true. It is checked now, then on every event of the watched nodes and on every {@link changed} — no polling.
 * `ms` only bounds a failure.
 */
export function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  if (check()) return Promise.resolve();
  const sources = [...watched];
  const count = sources.length;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      pending.delete(recheck);
      for (const [n, events] of sources) for (const e of events) n.off(e, recheck);
      if (err) reject(err);
      else resolve();
    };
    const recheck = (): void => {
      try {
        if (check()) done();
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const timer = setTimeout(() => done(new Error(`timed out waiting until ${what} (re-checked on the events of ${count} watched node(s) or view sync(s))`)), ms);
    pending.add(recheck);
    for (const [n, events] of sources) for (const e of events) n.on(e, recheck);
  });
}

export const input = (values: number[]): NamedTensors => ({ x: { type: 'float32', dims: [values.length], data: Float32Array.from(values) } });

export const serverOf = (out: NamedTensors): number => (out['server']!.data as Int32Array)[0]!;

export async function closeAll(nodes: readonly ClusterNode[]): Promise<void> {
  await Promise.all(nodes.map((c) => c.node.close()));
}

/** Whether `n` sees `id` alive with a ready instance. */
export const ready = (n: MeshNode, id: string): boolean => n.view().entries[id]?.alive === true && n.view().entries[id]!.instances.some((i) => i.status === 'ready');

/** Waits until `n` sees `id` alive with a ready instance. */
export const untilReady = (n: MeshNode, id: string, ms = 30_000): Promise<void> => until(() => ready(n, id), `${n.id} sees the instance of ${id}`, ms);

/** A logger that keeps the messages it is given (and wakes {@link until}). */
export function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const log = (obj: object | string, msg?: string): void => {
    messages.push(typeof obj === 'string' ? obj : (msg ?? ''));
    changed();
  };
  return { messages, debug: () => undefined, info: log, warn: log, error: log };
}

/** The process's active resources by type (`Timeout`, `TCPSocketWrap`, `TCPServerWrap`…), to compare after a close. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/**
 * What is active beyond `baseline` (`'Timeout ×2'`…), once it is gone or after `turns` turns of the event loop:
 * sockets finish closing a few turns after a `close()` resolves. Bounded by turns of the loop, not by time.
 */
export async function leftOverAfter(baseline: ReadonlyMap<string, number>, turns = 2000): Promise<string[]> {
  const extra = (): string[] => [...activeResources()].filter(([type, n]) => n > (baseline.get(type) ?? 0)).map(([type, n]) => `${type} ×${n - (baseline.get(type) ?? 0)}`);
  for (let i = 0; i < turns && extra().length > 0; i++) await new Promise((r) => setImmediate(r));
  return extra();
}
