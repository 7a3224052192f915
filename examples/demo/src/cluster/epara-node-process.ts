import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountDashboard, type Dashboard } from '@epara/dashboard';
import { EparaError, latencyAt, toEparaError, type NamedTensors, type NetworkModel, type PlacedInstance, type ServiceDemand } from '@epara/core';
import { createNode, createWebSocketTransport, type MeshNode, type Transport } from '@epara/mesh';
import { createExecutor, type Executor, type StreamPackForming, type StreamPackPricing } from '@epara/runtime';
import { DecisionLog } from '../entry-decisions.js';
import { DeviceUsageLog } from '../device-usage.js';
import { FORWARD_KINDS } from '../group-verdict.js';
import { demoServices, type DemoRun, type DemoService } from '../services.js';
import { buildLanguageModel } from '../models.js';
import { deviceOf } from '../placement.js';
import { emitToParent, serveChild } from './child-rpc.js';
import { EstimateTap } from './estimate-tap.js';
import { RequestTrace, type TracedPeer, type TracedRefusal } from './request-trace.js';
import { serveEntry } from './entry.js';
import { RoutedTransport } from './routed-transport.js';

/*
 * One EPARA edge node in its own OS process: an `@epara/runtime` executor with one 1-thread worker device,
 * an `@epara/mesh` node on its own WebSocket (reaching its peers through the delaying links), and an entry
 * for the clients near it.
 */

const id = process.argv[2] ?? 'edge-?';
let executor: Executor | undefined;
/** This node's services: the same declaration the main process placed, built from the run's measurements. */
let services: readonly DemoService[] = [];
let dashboard: { server: Server; page: Dashboard } | undefined;
/** The host's forecast the placement coordinator reads at each run (online placement only). */
let forecast: ServiceDemand[] = [];
/** Whether the mesh's placement coordinator runs (it may move what `place` loaded). */
let online = false;
let node: MeshNode | undefined;
let mesh: Transport | undefined;
const entry = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
const offloads: Record<string, number> = {};
/**
 * Forwards by kind, per service (`forwards:<service>:<kind>`, in the node's stats): `first` — a request sent to a
 * peer by the node it entered at, or by a peer's first forward; `retry` — sent again to another peer after a
 * refusal or a failure; `onward` — a request a peer had forwarded here, sent on (its second hop).
 */
const forwardKinds: Record<string, number> = {};
/** What this node decided for each request entering at its entry, and how it fared (see entry-decisions.ts). */
const decisions = new DecisionLog();
/** Set by the node's synchronous routing events while a `submit` from the entry is being routed. */
let decided: string | undefined;
/** The reason routing gave for refusing the request being routed (traced only). */
let refusedWhy: string | undefined;
/** Sizes of the batches (packs, for streams) the executor sent to the device, per service: `size → batches`. */
let packs: Record<string, Record<number, number>> = {};
/** This node's device and event-loop time per run (see device-usage.ts); set once the executor exists. */
let usage: DeviceUsageLog | undefined;
/** Per-request timelines when `EPARA_DEMO_TRACE=<dir>` is set (request-trace.ts), and the runs flushed so far. */
const trace = process.env.EPARA_DEMO_TRACE ? new RequestTrace(`${process.env.EPARA_DEMO_TRACE}/${id}.jsonl`) : undefined;
let traceRuns = 0;
/** Instances this server runs, with their plan's shape ({@link planKey}): what a new placement is compared with. */
const loaded = new Map<string, string>();

/** The executor's clock (the runtime's default: epoch ms at sub-ms resolution). */
const clockNow = (): number => performance.timeOrigin + performance.now();

async function until(check: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new EparaError('INTERNAL', `${id}: timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What makes two plans of an instance run differently (the demand-dependent figures of a plan do not). */
function planKey(p: PlacedInstance): string {
  const q = p.plan;
  return `${q.requestStrategy}/${q.serviceStrategy}/${q.batchSize}/${q.devices}/${p.deviceIds.join(',')}`;
}

/** Bytes of a request's numeric inputs (what a forward sends; string tensors, which the demo has none of, count 0). */
function inputBytes(inputs: NamedTensors): number {
  let bytes = 0;
  for (const t of Object.values(inputs)) if (ArrayBuffer.isView(t.data)) bytes += t.data.byteLength;
  return bytes;
}

/** The network this node was told (one-way delays and bandwidth per peer), for the traces' travel times. */
let network: NetworkModel = {};

/**
 * Each peer's ready instances of `serviceId` as this node's view shows them at `now` (wall clock, the view's),
 * with the travel time routing adds for a request of `bytes` (there and back, the request's transfer).
 */
function peersOf(n: MeshNode, serviceId: string, now: number, bytes: number): TracedPeer[] {
  const travelMs = (peer: string): number => 2 * (network.delayMs?.[peer] ?? 0) + bytes / (network.bandwidthBytesPerMs?.[peer] ?? Number.POSITIVE_INFINITY);
  return Object.values(n.view().entries).flatMap((e) =>
    e.serverId === id || !e.alive
      ? []
      : e.instances
          .filter((i) => i.serviceId === serviceId && i.status === 'ready')
          .map((i) => ({ serverId: e.serverId, waitMs: i.waitMs, ageMs: now - e.updatedAt, loadPerSec: i.loadPerSec, capacityPerSec: i.capacityPerSec, runMs: i.nextRunMs ?? i.runMs, travelMs: travelMs(e.serverId) })),
  );
}

/** The refusals a failed forward's error names (`details.refusals`: peer and reason), for the trace. */
function refusalsOf(err: unknown): TracedRefusal[] {
  const list = toEparaError(err).details['refusals'];
  if (!Array.isArray(list)) return [];
  return list.flatMap((r: unknown) => {
    const { peer, reason } = (r ?? {}) as Record<string, unknown>;
    return typeof peer === 'string' ? [{ peer, reason: typeof reason === 'string' ? reason : '' }] : [];
  });
}

serveChild(
  {
    /** Creates the executor and both sockets; answers their addresses. */
    async listen(o: { seed: number; streamPackPricing?: StreamPackPricing; streamPackForming?: StreamPackForming } & Omit<DemoRun, 'lm'>) {
      services = demoServices({ profiles: o.profiles, networkBudgetMs: o.networkBudgetMs, lm: buildLanguageModel(o.seed) });
      // Every counter exists from the start: a run's counts are differences of two readings.
      for (const s of services) for (const kind of FORWARD_KINDS) forwardKinds[`forwards:${s.id}:${kind}`] ??= 0;
      // Work-conserving batching (a partial batch runs as soon as the device idles): on a 1-thread CPU device a
      // fuller batch gains little per item, and waiting for one costs deadline slack.
      executor = createExecutor({ launchWhenIdle: true, ...(o.streamPackPricing !== undefined ? { streamPackPricing: o.streamPackPricing } : {}), ...(o.streamPackForming !== undefined ? { streamPackForming: o.streamPackForming } : {}), devices: [{ id: 'cpu0', threads: 1, memoryBytes: deviceOf().memoryBytes }], services });
      mesh = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
      const { address } = await mesh.listen();
      const { address: entryAddress } = await entry.listen();
      return { meshAddress: address, entryAddress };
    },
    /** Starts the mesh node: peers are dialed through `routes` (real address → delaying link), joined by `seeds`. */
    async join(o: { routes: [string, string][]; seeds: string[]; network: NetworkModel; psk: Uint8Array; syncPeriodMs: number; onlinePlacementPeriodMs: number | null; dashboardToken: string; streamAdmission?: 'local-first' | 'least-wait'; streamCapacity?: 'executor' | 'host-ratio' }): Promise<{ dashboardUrl: string }> {
      if (!executor || !mesh) throw new EparaError('INTERNAL', 'listen first');
      network = o.network;
      online = o.onlinePlacementPeriodMs !== null;
      const x0 = executor;
      const tap = new EstimateTap(x0);
      node = createNode({
        id,
        transport: new RoutedTransport(mesh, new Map(o.routes)),
        // The node reads its capacities from here: each instance's rate at the device hold time the runtime learns.
        executor: tap.executor,
        security: { psk: o.psk },
        seeds: o.seeds,
        network: o.network,
        services,
        devices: [deviceOf()],
        syncPeriodMs: o.syncPeriodMs,
        ...(o.streamAdmission !== undefined ? { streamAdmission: o.streamAdmission } : {}),
        ...(o.streamCapacity !== undefined ? { streamCapacity: o.streamCapacity } : {}),
        // By default the demo places once, from the forecast (placement.ts). Online: the mesh's coordinator re-places
        // every period from the larger of the arrivals each node reports and the host's forecast (docs/mesh.md).
        ...(o.onlinePlacementPeriodMs === null ? { placement: false as const } : { placement: { demand: () => forecast }, placementPeriodMs: o.onlinePlacementPeriodMs }),
      });
      node.on('requestOffloaded', (e) => {
        offloads[e.serviceId] = (offloads[e.serviceId] ?? 0) + 1;
        const kind = `forwards:${e.serviceId}:${e.retry ? 'retry' : e.hops > 1 ? 'onward' : 'first'}`;
        forwardKinds[kind] = (forwardKinds[kind] ?? 0) + 1;
        decided ??= `forward ${e.to}`;
      });
      node.on('requestRejected', (e) => {
        decided ??= `reject ${e.code}`;
        refusedWhy ??= e.reason;
      });
      const u = new DeviceUsageLog({ now: () => performance.now(), deviceBusyMs: () => x0.stats().devices['cpu0']?.busyMs ?? 0, loopActiveMs: () => performance.eventLoopUtilization().active });
      usage = u;
      executor.on('batchDispatched', (e) => {
        const bySize = (packs[e.serviceId] ??= {});
        bySize[e.size] = (bySize[e.size] ?? 0) + 1;
        const profile = services.find((s) => s.id === e.serviceId)?.profile;
        const batch = { serviceId: e.serviceId, size: e.size, expectedMs: e.expectedMs, profileMs: profile ? latencyAt(profile, e.size) : 0 };
        u.dispatched(batch);
        trace?.dispatched(e);
      });
      executor.on('batchCompleted', (e) => {
        u.completed(e);
        trace?.completed(e);
      });
      executor.on('requestCompleted', (e) => {
        u.settled(e);
        trace?.executorSettled(e);
      });
      await node.start();
      const n = node;
      const x = executor;
      serveEntry(entry, {
        submit: (serviceId, inputs, budgetMs) => {
          const startedAt = Date.now();
          const deadline = startedAt + budgetMs;
          // A trace records the estimate before the request enters the node (it names the request there).
          const before = trace === undefined ? undefined : x.estimate(serviceId);
          const traced = trace?.begin({ serviceId, decidedAt: clockNow(), estimateAt: before?.ready ? before.completionAt : Number.NaN, deadline });
          // Routing runs synchronously inside submit: the events it fires name this request's decision, and the
          // estimate it read is this request's (the executor is not asked a second time for the log).
          decided = undefined;
          refusedWhy = undefined;
          tap.take();
          const done = n.submit(serviceId, inputs, { deadline, ...(traced === undefined ? {} : { trace: { requestId: traced } }) });
          const decision = decided ?? 'local';
          const reason = refusedWhy;
          const read = tap.take();
          const estimate = read.read ? read.estimate : before;
          decided = undefined;
          refusedWhy = undefined;
          // What the view showed of the peers when the request was not run here (traced only).
          const peers = traced !== undefined && decision !== 'local' ? peersOf(n, serviceId, startedAt, inputBytes(inputs)) : undefined;
          const settle = decisions.record(serviceId, decision, estimate?.ready ? estimate.completionAt - startedAt : undefined, budgetMs);
          done.then(
            () => {
              if (traced !== undefined) trace!.settled(traced, { at: clockNow(), outcome: Date.now() <= deadline ? 'ok' : 'late', decision, peers });
              settle({ ok: true, latencyMs: Date.now() - startedAt, deadlineMet: Date.now() <= deadline });
            },
            (err: unknown) => {
              if (traced !== undefined) trace!.settled(traced, { at: clockNow(), outcome: toEparaError(err).code, decision, reason, peers, refusals: refusalsOf(err) });
              settle({ ok: false, code: toEparaError(err).code });
            },
          );
          return done;
        },
        openStream: async (serviceId, rateHz) => {
          const s = await n.openStream(serviceId, { rateHz });
          return { servedBy: s.pinnedTo, push: (f) => s.push(f), close: () => s.close(), [Symbol.asyncIterator]: () => s[Symbol.asyncIterator]() };
        },
      });
      // The live dashboard of this node, behind a token generated for the run (the node authenticates its peers).
      const server = createServer((_req, res) => res.writeHead(404).end());
      dashboard = { server, page: mountDashboard(server, { node, auth: { token: o.dashboardToken }, services }) };
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      return { dashboardUrl: `http://127.0.0.1:${port}/dashboard?token=${o.dashboardToken}` };
    },
    /** Waits until this node's view shows `n` live nodes. */
    async peers(n: number) {
      await until(() => Object.values(node!.view().entries).filter((e) => e.alive).length === n, `${n} live nodes`);
    },
    /**
     * Makes this server run its instances of the placement: unloads those it no longer has (or whose plan
     * changed), loads the new ones. The first placement loads everything; a later one (the capacity search
     * re-places for each load) touches only what differs.
     */
    async place(instances: PlacedInstance[]) {
      const mine = instances.filter((x) => x.serverId === id);
      for (const [instanceId, plan] of loaded) {
        const next = mine.find((p) => p.instanceId === instanceId);
        if (next !== undefined && planKey(next) === plan) continue;
        // Online, the coordinator may have moved it already.
        if (online) await executor!.unload(instanceId).catch(() => undefined);
        else await executor!.unload(instanceId);
        loaded.delete(instanceId);
      }
      // Online, the coordinator may have placed an instance of the same id here already (core names instances by
      // service, server and device): it is kept, not loaded twice.
      const present = online ? new Set(node?.view().entries[id]?.instances.map((i) => i.instanceId)) : new Set<string>();
      for (const p of mine) {
        if (loaded.has(p.instanceId)) continue;
        if (present.has(p.instanceId)) {
          loaded.set(p.instanceId, planKey(p));
          continue;
        }
        const loading = executor!.load(p.plan, { instanceId: p.instanceId, deviceIds: p.deviceIds });
        // Online, the coordinator's decision for the same id may land while this one loads: it stays.
        if (online) await loading.catch((err: unknown) => (toEparaError(err).code === 'INVALID_OPTIONS' && /unused/.test(toEparaError(err).message) ? undefined : Promise.reject(err)));
        else await loading;
        loaded.set(p.instanceId, planKey(p));
        // A new session: its first batches (cold, the estimate still learning) are not what the host costs.
        usage?.loaded(p.serviceId);
      }
    },
    /** Waits until this node's view shows every instance of the placement ready. */
    async ready(instances: PlacedInstance[]) {
      if (online) {
        // The coordinator places too: wait for this node's own loads only (it may move them right after).
        await until(() => node!.view().entries[id]?.instances.every((i) => i.status === 'ready') ?? false, 'local instances ready');
        return;
      }
      const ids = new Set(instances.map((p) => p.instanceId));
      const settled = (): boolean => {
        const entries = node!.view().entries;
        // Every instance of the placement ready, and none of an earlier placement still announced.
        const ready = instances.every((p) => entries[p.serverId]?.instances.some((i) => i.instanceId === p.instanceId && i.status === 'ready'));
        return ready && Object.values(entries).every((e) => e.instances.every((i) => ids.has(i.instanceId)));
      };
      await until(settled, 'every instance ready');
    },
    /**
     * Online placement: the forecast the coordinator reads; on the leader, places now from it. Resolves once this
     * node's view shows a ready instance of every service that has demand and nothing loading.
     */
    async forecast(demand: ServiceDemand[]) {
      forecast = demand;
      node!.placeNow();
      const wanted = demand.filter((d) => Object.values(d.ratePerServer).some((r) => r > 0) || (d.streams?.length ?? 0) > 0).map((d) => d.serviceId);
      const settled = (): boolean => {
        const all = Object.values(node!.view().entries).flatMap((e) => e.instances);
        return all.every((i) => i.status === 'ready') && wanted.every((s) => all.some((i) => i.serviceId === s));
      };
      await until(settled, 'the coordinator\'s placement ready');
    },
    stats: () => ({ ...node!.stats(), ...forwardKinds, offloads: { ...offloads } }),
    /** The per-decision counts and pack sizes since the last call (the main process calls it around each run). */
    take: () => {
      trace?.flush(++traceRuns);
      const out = { decisions: decisions.take(), packs, usage: usage!.take() };
      packs = {};
      return out;
    },
  },
  async () => {
    dashboard?.page.close();
    dashboard?.server.close();
    await node?.close().catch(() => undefined);
    await entry.close().catch(() => undefined);
    await executor?.close().catch(() => undefined);
  },
);
emitToParent('started', { id, pid: process.pid });
