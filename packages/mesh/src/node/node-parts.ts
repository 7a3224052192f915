import type { ClusterView, NetworkModel, ServerId } from '@epara/core';
import { invalidOption } from '@epara/core';
import { INBOUND_STARTS_PER_TURN, INBOUND_WAITING_BYTES_PER_SENDER, INBOUND_WAITING_PER_SENDER, InboundRequests } from '../offload/inbound-requests.js';
import { OffloadServing } from '../offload/offload-serving.js';
import { isOffloader } from '../offload/offloader.js';
import { LocalLateness } from '../offload/local-lateness.js';
import type { OffloadPathPorts } from '../offload/offload-path-ports.js';
import { RequestHandler } from '../offload/request-handler.js';
import { StreamHost } from '../offload/stream-host.js';
import { PlacementApplier } from '../placement/placement-applier.js';
import { PlacementCoordinator } from '../placement/placement-coordinator.js';
import { RingSync } from '../sync/ring-sync.js';
import type { ViewSync } from '../sync/view-sync.js';
import { createFaultInjector } from '../sync/sync-faults.js';
import type { ArrivalMeter } from './arrival-meter.js';
import { createHandshake } from './handshake.js';
import type { NodeEvents } from './node-events.js';
import type { ResolvedNodeOptions } from './node-options.js';
import { PeerLinks } from './peer-links.js';
import { newIncarnation } from './peer-incarnations.js';
import { readSelfState } from './self-state.js';
import { deviceHealth } from './device-health.js';
import { StreamOpener } from './stream-opener.js';
import { wireSync } from './wire-sync.js';
import { AuthBackoff } from '../security/auth-backoff.js';

/** Counters a node keeps. */
export type Counter =
  | 'submitted'
  | 'ranLocally'
  | 'offloaded'
  | 'retried'
  | 'retriedUnanswered'
  | 'received'
  | 'rejected'
  | 'syncRounds'
  | 'syncBytesSent'
  | 'syncFramesSent'
  | 'bytesSent'
  | 'framesRejected'
  | 'placementsApplied';

/** The components of a node, wired to each other. */
export interface NodeParts {
  readonly links: PeerLinks;
  readonly sync: ViewSync;
  readonly handler: RequestHandler;
  readonly inbound: InboundRequests;
  readonly streamHost: StreamHost;
  readonly streams: StreamOpener;
  readonly coordinator: PlacementCoordinator | undefined;
  readonly applier: PlacementApplier;
  /** Keeps the `offloader` option's offloader serving the hosted services; absent in links mode. */
  readonly offloadServing: OffloadServing | undefined;
  readonly count: (c: Counter, n?: number) => void;
}

/** What the parts need from the node object itself. */
export interface NodeContext {
  readonly meter: ArrivalMeter;
  readonly nextId: () => number;
  readonly count: (c: Counter, n?: number) => void;
  readonly emit: <K extends keyof NodeEvents>(event: K, payload: NodeEvents[K][0]) => void;
}

/** Builds and wires every component of a node (no I/O happens here). */
export function buildNodeParts(o: ResolvedNodeOptions, ctx: NodeContext): NodeParts {
  const lateness = o.estimateCorrectionMs > 0 ? new LocalLateness(o.estimateCorrectionMs) : undefined;
  const { links, sync } = buildLinksAndSync(o, ctx, lateness);
  const clockView = nodeClockViewer(o);
  const view = (): ClusterView => clockView(sync.store.view());
  const send = (peer: string, m: Parameters<PeerLinks['send']>[1]): string | undefined => links.send(peer, m);
  const offloadServing = buildOffloadServing(o);
  // One set of ports for the request path and the stream path.
  let coordinator: PlacementCoordinator | undefined;
  const network = routingNetwork(o.network, () => coordinator?.measuredDelays());
  // A silent peer's link is probed: no pong within twice the grace (at least two sync-ack waits) closes it — a
  // one-way partition keeps it open.
  const probeMs = Math.max(2 * o.responseGraceMs, 2 * o.syncAttempts * o.syncAckTimeoutMs);
  const unanswered = (peer: string, via: string | undefined): void => links.probe(peer, via, probeMs);
  const ports: OffloadPathPorts = { selfId: o.id, clock: o.clock, timers: o.timers, executor: o.executor, view, hopLimit: o.hopLimit, hopDelayMs: o.hopDelayMs, network, nextId: ctx.nextId, send, linked: (peer) => links.linked(peer), linkState: (peer) => links.linkState(peer), unanswered };
  const handler = new RequestHandler({
    ...ports,
    guardMs: o.guardMs,
    responseGraceMs: o.responseGraceMs,
    logger: o.logger,
    offloader: offloadServing?.offloader,
    lateness,
    monotonicClock: o.monotonicClock,
    hooks: {
      offloaded: (e) => (ctx.count('offloaded'), e.retry && ctx.count('retried'), ctx.emit('requestOffloaded', e)),
      rejected: (e) => (ctx.count('rejected'), ctx.emit('requestRejected', e)),
      ranLocally: () => ctx.count('ranLocally'),
      resentUnanswered: () => ctx.count('retriedUnanswered'),
    },
  });
  const frameBounds = { graceMs: o.responseGraceMs, defaultStalenessMs: (serviceId: string) => defaultBudgetMs(o, serviceId), clock: o.monotonicClock };
  const streams = new StreamOpener({ ...ports, openTimeoutMs: 5000, frameBounds, priceWaitBehind: o.streamAdmission === 'least-wait', ...withScale(streamCapacityScale(o, lateness)) });
  const reply = (linkId: string, m: Parameters<PeerLinks['reply']>[1]): void => links.reply(linkId, m);
  // A flood from a peer is sliced (its host's own work runs between the slices) and bounded per sender.
  const inbound = new InboundRequests({
    clock: o.clock,
    handle: (r) => handler.handle(r),
    reply,
    maxBudgetMs: 10 * 60_000,
    hopLimit: o.hopLimit,
    startsPerTurn: INBOUND_STARTS_PER_TURN,
    maxWaitingPerSender: INBOUND_WAITING_PER_SENDER,
    maxWaitingBytesPerSender: INBOUND_WAITING_BYTES_PER_SENDER,
  });
  const streamHost = new StreamHost({ open: (r) => streams.open(r), reply });
  const placement = buildPlacement(o, ctx, links, sync);
  coordinator = placement.coordinator;
  const { applier } = placement;
  return { links, sync, handler, inbound, streamHost, streams, coordinator, applier, offloadServing, count: ctx.count };
}

/**
 * What stream admission divides the local instances' rate capacity by (the node's `streamCapacity` option): nothing
 * with `'executor'`; with `'host-ratio'`, the host's measured wait ratio (`LocalLateness.hostRatio`).
 */
export function streamCapacityScale(o: Pick<ResolvedNodeOptions, 'streamCapacity' | 'monotonicClock'>, lateness: LocalLateness | undefined): (() => number) | undefined {
  if (lateness === undefined || o.streamCapacity !== 'host-ratio') return undefined;
  return () => lateness.hostRatio(o.monotonicClock.now());
}

function withScale(scale: (() => number) | undefined): { capacityScale?: () => number } {
  return scale ? { capacityScale: scale } : {};
}

/**
 * The budget of a request or stream frame of `serviceId` that names none: its latency SLO's deadline, or its
 * frequency SLO's staleness limit, else the node's `defaultDeadlineMs`.
 */
export function defaultBudgetMs(o: Pick<ResolvedNodeOptions, 'services' | 'defaultDeadlineMs'>, serviceId: string): number {
  const s = o.services.find((x) => x.id === serviceId);
  return s?.slo.kind === 'latency' ? s.slo.deadlineMs : s?.slo.kind === 'frequency' ? s.slo.stalenessMs : o.defaultDeadlineMs;
}

/**
 * The view with `updatedAt` moved from the monotonic clock the sync keeps it on to the node's clock, where
 * routing compares it with deadlines: each entry keeps its age. The same view when the two clocks agree (to
 * the millisecond) — always with one injected clock, and with the default ones until the wall clock steps.
 */
export function nodeClockView(view: ClusterView, o: Pick<ResolvedNodeOptions, 'clock' | 'monotonicClock'>): ClusterView {
  if (o.clock === o.monotonicClock) return view;
  const shift = o.clock.now() - o.monotonicClock.now();
  if (Math.abs(shift) < 1) return view;
  const entries: Record<ServerId, ClusterView['entries'][ServerId]> = {};
  for (const [id, e] of Object.entries(view.entries)) entries[id] = { ...e, updatedAt: e.updatedAt + shift };
  return { entries };
}

/**
 * {@link nodeClockView} for a node's routing path, which reads the view for every request: the moved view is kept
 * while the sync's view is the same object and the two clocks are the same whole number of ms apart (so entries are
 * moved by that whole number, within half a ms of the exact offset; under 1 ms apart the view is used as it is).
 * The default clocks drift apart by a millisecond or more within seconds of a process's start (the wall clock is
 * slewed, the monotonic one is not): from then on every request copied every entry.
 */
export function nodeClockViewer(o: Pick<ResolvedNodeOptions, 'clock' | 'monotonicClock'>): (view: ClusterView) => ClusterView {
  if (o.clock === o.monotonicClock) return (view) => view;
  let source: ClusterView | undefined;
  let shiftMs = 0;
  let moved: ClusterView | undefined;
  return (view) => {
    const shift = o.clock.now() - o.monotonicClock.now();
    if (Math.abs(shift) < 1) return view;
    const whole = Math.round(shift);
    if (view === source && whole === shiftMs && moved !== undefined) return moved;
    const entries: Record<ServerId, ClusterView['entries'][ServerId]> = {};
    for (const [id, e] of Object.entries(view.entries)) entries[id] = { ...e, updatedAt: e.updatedAt + whole };
    source = view;
    shiftMs = whole;
    return (moved = { entries });
  };
}

/**
 * The network model routing prices peers with: the host's configured delays and bandwidths, over the one-way
 * delays the placement coordinator measured by probing its peers (so a 20 ms peer is not taken for a 1 ms one
 * when the host configured nothing); peers in neither get `hopDelayMs`. The merged model is rebuilt only when a
 * probe changed the measurements.
 */
export function routingNetwork(configured: NetworkModel, measured: () => Readonly<Record<ServerId, number>> | undefined): () => NetworkModel {
  let seen: Readonly<Record<ServerId, number>> | undefined;
  let merged = configured;
  return () => {
    const m = measured();
    if (m === seen) return merged;
    seen = m;
    merged = m === undefined ? configured : { ...configured, delayMs: { ...m, ...configured.delayMs } };
    return merged;
  };
}

function buildOffloadServing(o: ResolvedNodeOptions): OffloadServing | undefined {
  if (!o.offloader) return undefined;
  const offloader = o.offloader({ selfId: o.id, executor: o.executor, hopLimit: o.hopLimit, guardMs: o.guardMs, clock: o.clock, logger: o.logger });
  if (!isOffloader(offloader)) invalidOption('offloader', offloader, 'a factory returning an Offloader (serve, unserve, forward, close)');
  return new OffloadServing({ offloader, executor: o.executor, timers: o.timers, pollMs: o.syncPeriodMs, logger: o.logger });
}

function buildLinksAndSync(o: ResolvedNodeOptions, ctx: NodeContext, lateness: LocalLateness | undefined): { links: PeerLinks; sync: ViewSync } {
  let sync: ViewSync;
  // One run per process: announced on every link, and carried by this server's view entry on the ring.
  const run = newIncarnation(o.epoch);
  const links: PeerLinks = new PeerLinks({
    selfId: o.id,
    transport: o.transport,
    handshake: createHandshake(o, run),
    limits: o.limits,
    addressOf: (id) => sync.store.get(id)?.address,
    epochOf: (id) => sync.store.get(id)?.epoch,
    aliveOf: (id) => sync.store.get(id)?.alive === true,
    runOf: (id) => sync.store.runOf?.(id),
    maxQueuedFrames: 1024,
    maxBufferedBytes: o.maxLinkBufferedBytes,
    authBackoff: new AuthBackoff({ ...o.authRetry, now: () => o.monotonicClock.now(), random: o.random }),
    logger: o.logger,
    timers: o.timers,
    clock: o.monotonicClock,
  });
  const healthyDevices = deviceHealth(o.devices, o.executor);
  const readSelf = (): ReturnType<typeof readSelfState> =>
    readSelfState({
      executor: o.executor,
      meter: ctx.meter,
      now: o.monotonicClock.now(),
      // A device the executor reports failed offers no memory: the view shows what placement may use.
      devices: healthyDevices(),
      services: o.services,
      address: o.advertise ?? o.transport.address,
      ...(lateness ? { waitScale: (serviceId: string) => lateness.ratio(serviceId, o.monotonicClock.now()) } : {}),
    });
  if (o.viewSync) {
    const custom = o.viewSync({ selfId: o.id, epoch: o.epoch, clock: o.monotonicClock, timers: o.timers, logger: o.logger, readSelf });
    return { links, sync: (sync = custom) };
  }
  sync = new RingSync({
    selfId: o.id,
    epoch: o.epoch,
    run,
    clock: o.monotonicClock,
    timers: o.timers,
    periodMs: o.syncPeriodMs,
    ackTimeoutMs: o.syncAckTimeoutMs,
    attempts: o.syncAttempts,
    suspicionMs: o.syncSuspicionMs,
    fullEvery: o.fullSyncEvery,
    deadRetentionMs: o.deadRetentionMs,
    maxDeadEntries: o.maxDeadEntries,
    seeds: o.seeds,
    faults: createFaultInjector(o.syncFaults, o.random),
    logger: o.logger,
    readSelf,
    send: (to, m) => wireSync(links, to, m),
  });
  return { links, sync };
}

function buildPlacement(o: ResolvedNodeOptions, ctx: NodeContext, links: PeerLinks, sync: ViewSync): { applier: PlacementApplier; coordinator: PlacementCoordinator | undefined } {
  const clockView = nodeClockViewer(o);
  const view = (): ClusterView => clockView(sync.store.view());
  const applier = new PlacementApplier({
    selfId: o.id,
    executor: o.executor,
    view,
    timers: o.timers,
    readyTimeoutMs: Math.max(o.syncPeriodMs * 20, 10_000),
    pollMs: Math.max(10, o.syncPeriodMs / 5),
    logger: o.logger,
    applied: (e) => (ctx.count('placementsApplied'), ctx.emit('placementApplied', e)),
  });
  if (o.placement === false) return { applier, coordinator: undefined };
  const healthyDevices = deviceHealth(o.devices, o.executor);
  const coordinator = new PlacementCoordinator({
    selfId: o.id,
    timers: o.timers,
    periodMs: o.placementPeriodMs,
    services: o.services,
    devices: healthyDevices,
    options: o.placement,
    hasSeeds: o.seeds.length > 0,
    view,
    hosted: () => o.executor.instances().flatMap((i) => (i.deviceIds && i.deviceIds.length > 0 ? [{ instanceId: i.instanceId, deviceIds: i.deviceIds }] : [])),
    epoch: () => sync.store.self.epoch,
    send: (peer, payload) => {
      try {
        links.send(peer, { type: 'placement', payload });
      } catch (err) {
        o.logger.debug({ peer, err }, 'placement send failed');
      }
    },
    apply: (d) => void applier.apply(d),
    logger: o.logger,
    now: () => o.monotonicClock.now(),
    ran: (e) => ctx.emit('placementComputed', e),
  });
  return { applier, coordinator };
}
