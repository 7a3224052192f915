import { invalidOption } from '@epara/core';
import type { Registry } from 'prom-client';
import type { MeshNode } from '../node/mesh-node.js';
import type { NodeEvents } from '../node/node-events.js';
import { loadPromClient } from './load-prom-client.js';
// The public types come from core: a declaration that named this folder's loader would reach prom-client's own
// types, which a host without the optional peer cannot resolve.
import type { PromClient, PromRegistry } from '@epara/core/internal';
import type { PromClientModule } from './load-prom-client.js';
import { attachShared, scrapeMetricFactories, type LabelSetter } from '@epara/core/internal';

/** What the mesh metrics read from a node: its typed events, `stats()` and `view()`. */
export type MetricsNode = Pick<MeshNode, 'id' | 'on' | 'off' | 'stats' | 'view'>;

/** Options of {@link createMeshMetrics}. */
export interface MeshMetricsOptions {
  /** The node to observe (`createNode(...)`). */
  readonly node: MetricsNode;
  /** Registry to register the metrics in (share one with `createRuntimeMetrics`). @default a new prom-client `Registry` */
  readonly registry?: PromRegistry;
  /** Prefix of every metric name. @default 'epara_' */
  readonly prefix?: string;
  /** The prom-client module, when it cannot be imported by name. @default `import('prom-client')` */
  readonly client?: PromClient;
  /** Clock for the view's age (same clock as the node's). @default Date.now */
  readonly now?: () => number;
}

/** Prometheus metrics of one mesh node (see docs/observability.md). */
export interface MeshMetrics {
  readonly registry: PromRegistry;
  metrics(): Promise<string>;
  readonly contentType: string;
  /** Stops listening to the node and removes the metrics from the registry. Idempotent. */
  close(): void;
}

type Handlers = { [K in keyof NodeEvents]?: (...args: NodeEvents[K]) => void };

/**
 * Registers Prometheus metrics for a mesh node: offloads, rejections by reason, sync rounds and lag (age of
 * each peer's entry in this node's view), peers, placement, fed by the node's typed events and read from
 * `node.stats()` / `node.view()` at each scrape. A peer's offload series are removed once the view forgot the
 * peer. Counters end in `_total`, durations are in seconds, and every
 * series carries a `node` label (the node's id), so several nodes can share one registry.
 *
 * @throws EparaError `INVALID_OPTIONS` for bad options, when the optional peer `prom-client` is missing, or
 * when a node with the same id already uses the registry.
 * @example
 * ```ts
 * import { createMeshMetrics } from '@epara/mesh';
 * const metrics = await createMeshMetrics({ node });
 * const text = await metrics.metrics();
 * ```
 */
export async function createMeshMetrics(options: MeshMetricsOptions): Promise<MeshMetrics> {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const node = options.node as Partial<MetricsNode> | undefined;
  if (!node || typeof node.on !== 'function' || typeof node.stats !== 'function' || typeof node.view !== 'function') invalidOption('node', options.node, 'a MeshNode');
  const p = options.prefix ?? 'epara_';
  if (typeof p !== 'string' || !/^[a-zA-Z_:]?[a-zA-Z0-9_:]*$/.test(p)) invalidOption('prefix', p, 'a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') invalidOption('now', now, 'a function returning ms');
  const client = await loadPromClient(options.client);
  // A host's registry is a prom-client Registry (the structural type only keeps our published types standalone).
  const registry = (options.registry ?? new client.Registry()) as Registry;
  const id = String(options.node.id);
  const shared = attachShared(registry, { kind: 'node', prefix: p }, id, { node: options.node, now }, (sources) => defineMetrics(client, registry, p, sources));
  const handlers = eventHandlers(shared.metrics, id, options.node);
  for (const [event, fn] of Object.entries(handlers)) options.node.on(event as keyof NodeEvents, fn as never);
  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      for (const [event, fn] of Object.entries(handlers)) options.node.off(event as keyof NodeEvents, fn as never);
      shared.detach(id);
    },
  };
}

/** One node as the shared gauges read it at scrape time. */
interface Source {
  readonly node: MetricsNode;
  readonly now: () => number;
}

type Metrics = ReturnType<typeof defineMetrics>;

function eventHandlers(m: Metrics, node: string, source: MetricsNode): Handlers {
  // The offload series of each peer, so they go once the view forgot the peer (dead past its retention): a
  // cluster whose servers come and go under new ids would otherwise add series for ever.
  const byPeer = new Map<string, Map<string, Record<string, string>>>();
  return {
    requestOffloaded: (e) => {
      const labels = { node, model: e.serviceId, peer: e.to, retry: String(e.retry) };
      m.offloads.inc(labels);
      let series = byPeer.get(e.to);
      if (series === undefined) byPeer.set(e.to, (series = new Map()));
      series.set(`${e.serviceId}\u0000${labels.retry}`, labels);
    },
    viewChanged: () => {
      if (byPeer.size === 0) return;
      const entries = source.view().entries;
      for (const [peer, series] of byPeer) {
        // '*': a queue group (the NATS offloader), never in the view.
        if (peer === '*' || entries[peer] !== undefined) continue;
        for (const labels of series.values()) m.offloads.remove(labels);
        byPeer.delete(peer);
      }
    },
    // One counter for every request this node turned away, whatever the reason (OVERLOADED included).
    requestRejected: (e) => m.rejected.inc({ node, model: e.serviceId, reason: String(e.code) }),
    syncCompleted: (e) => m.syncDuration.observe({ node }, e.durationMs / 1000),
    peerJoined: () => m.peerEvents.inc({ node, event: 'joined', reason: '' }),
    peerLeft: (e) => m.peerEvents.inc({ node, event: 'left', reason: String(e.reason) }),
    placementComputed: (e) => m.placements.inc({ node, trigger: e.trigger }),
    frameRejected: (e) => m.framesRejected.inc({ node, reason: e.code }),
  };
}

function defineMetrics(client: PromClientModule, registry: Registry, p: string, sources: ReadonlyMap<string, Source>) {
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) => new client.Counter({ name: p + name, help, labelNames: ['node', ...labelNames], registers });
  const metrics = {
    offloads: counter('offloads_total', 'Requests this node forwarded to a peer (retry="true" after a peer failed)', ['model', 'peer', 'retry']),
    rejected: counter('requests_rejected_total', 'Requests this node rejected, by reason (NO_INSTANCE, OVERLOADED, DEADLINE_INFEASIBLE…)', ['model', 'reason']),
    syncDuration: new client.Histogram({
      name: p + 'sync_round_duration_seconds',
      help: 'Time for a ring round this node started to come back, s',
      labelNames: ['node'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    peerEvents: counter('peer_events_total', "Peers that joined or left this node's view", ['event', 'reason']),
    placements: counter('placements_computed_total', 'Placements this node computed as leader, by trigger', ['trigger']),
    framesRejected: counter('frames_rejected_total', 'Frames from peers that failed validation, by reason code', ['reason']),
  };
  defineGauges(client, registers, p, sources);
  return metrics;
}

type Fill = (g: LabelSetter, source: Source, node: string) => void;

function defineGauges(client: PromClientModule, registers: Registry[], p: string, sources: ReadonlyMap<string, Source>): void {
  const { gauge, mirror } = scrapeMetricFactories<Fill, Registry>(client, registers, p, (set, fill) => {
    for (const [node, source] of sources) fill(set, source, node);
  });
  mirror('node_requests_total', 'Requests by what this node did with them: submitted, ran_locally, offloaded, retried, received, rejected', ['kind'], (g, { node }, id) => {
    const s = node.stats();
    const kinds = { submitted: s.submitted, ran_locally: s.ranLocally, offloaded: s.offloaded, retried: s.retried, received: s.received, rejected: s.rejected };
    for (const [kind, v] of Object.entries(kinds)) g.set({ node: id, kind }, v);
  });
  gauge('forwards_in_flight', 'Forwarded requests waiting for their peer', [], (g, { node }, id) => g.set({ node: id }, node.stats().inFlightForwards));
  gauge('peers', 'Peers connected and alive in the view', ['state'], (g, { node }, id) => {
    const s = node.stats();
    g.set({ node: id, state: 'connected' }, s.connectedPeers);
    g.set({ node: id, state: 'alive' }, s.alivePeers);
  });
  mirror('sync_rounds_total', 'Ring rounds this node completed', [], (g, { node }, id) => g.set({ node: id }, node.stats().syncRounds));
  mirror('sync_sent_bytes_total', 'Bytes of ring-sync frames this node sent', [], (g, { node }, id) => g.set({ node: id }, node.stats().syncBytesSent));
  mirror('sent_bytes_total', 'Bytes this node sent to peers', [], (g, { node }, id) => g.set({ node: id }, node.stats().bytesSent));
  mirror('placements_applied_total', 'Placements this node applied', [], (g, { node }, id) => g.set({ node: id }, node.stats().placementsApplied));
  gauge('sync_lag_seconds', "Age of each server's entry in this node's view (now − updatedAt), s: the sync lag", ['peer'], (g, { node, now }, id) => {
    const t = now();
    for (const [peer, e] of Object.entries(node.view().entries)) if (e.alive) g.set({ node: id, peer }, Math.max(0, t - e.updatedAt) / 1000);
  });
}
