import { admitStream, createView, DEFAULT_PLACEMENT_OPTIONS, resolveRouteOptions, type ClusterView, type RouteOptions, type RouteRequestInput, type ServerEntry } from '@epara/core';
import { routeRequestInto, RoutePlan } from '@epara/core/internal';
import type { SimSystem } from '../world/system.js';
import type { SimInstance, SimRequest, SimStream } from '../world/types.js';
import { ArrivalSlackBook } from './arrival-slack.js';
import { placementReadsSlack } from '../workload/compile-workload.js';
import type { World } from '../world/world.js';
import { estimateCompletion } from '../world/device-model.js';
import { DEVICE_KINDS } from '../model/hardware.js';
import { OnlineForecast } from './online-forecast.js';
import { createRingSync, type RingSync } from '../sync/ring-sync.js';
import { DEFAULT_EPARA_OPTIONS, DEFAULT_SYNC_OPTIONS, type EparaSystemOptions, type SyncOptions } from './epara-options.js';
import { ServerStateBook } from './epara-state.js';
import { createPlacementDriver, EV_PLACEMENT_COMMAND, EV_PLACEMENT_NOTICE, indexOf, type PlacementDriver, type PlacementKnowledge } from './placement-driver.js';
import { DetectedHealth, EV_HEALTH_DETECTED } from './detected-health.js';
import { CarriedArrivals } from './carried-arrivals.js';
import { EV_CLIENT_ADMIT, EV_CLIENT_ANSWER, StreamClients } from './stream-clients.js';
import { zonesOf } from './zones.js';
import { serviceView } from './service-view.js';
import { StreamOutcomes } from './stream-outcomes.js';
import { StreamEgress } from './stream-egress.js';
import { EgressHistory } from './egress-history.js';

const EV_PLACE = 60;
const EV_FORECAST = 61;
/** An admission request reaches a peer (`a`: that server). */
const EV_ADMIT = 62;
/** A peer's admission answer reaches the stream's access server. */
const EV_ADMIT_REPLY = 63;
/** A peer tells a stream's access server that the instance the stream is pinned to is gone. */
const EV_PIN_LOST = 64;
/** A client hears its access server's refusal of a request as infeasible on arrival (`a`: server × services + service; ref: the request's slack then, ms). */
const EV_REFUSAL_HEARD = 67;
/** Bytes of a refusal's answer (status, code and message) on the access downlink. */
const REFUSAL_BYTES = 200;
const NO_VISITS: readonly string[] = [];
/** How long an unpinned failing stream waits before admission is tried again, ms. */
const UNPIN_BACKOFF_MS = 2000;
/** How long a stream no server admitted waits before admission is tried again, ms. */
const REFUSED_BACKOFF_MS = 1000;

/** An admission travelling between servers: where it has been, and (in an answer) the instance a peer reserved. */
interface Admission {
  readonly stream: SimStream;
  readonly hops: number;
  readonly visited: string[];
  readonly inst: SimInstance | null;
}

/**
 * EPARA in the simulator, running the core's own logic: `allocate` → `placeServices` per zone at start, every
 * period and after a detected failure; `routeRequest` for every request with the server's ring-synchronized
 * view (merged entry by entry with core `compareEntries`); `admitStream` once per stream, pinning it to a multi-frame instance; batches and
 * packs launch by the deadline-aware rule. The ablation flags switch off one mechanism each.
 */
export function createEparaSystem(options: Partial<EparaSystemOptions> = {}): SimSystem {
  const given = strip(options);
  const o: EparaSystemOptions = { ...DEFAULT_EPARA_OPTIONS, ...given, placementOptions: { ...DEFAULT_EPARA_OPTIONS.placementOptions, ...given.placementOptions } };
  const syncO: SyncOptions = { ...DEFAULT_SYNC_OPTIONS, ...o.syncOptions };
  const route: RouteOptions = resolveRouteOptions({
    ...o.routeOptions,
    ...(o.offload ? {} : { hopLimit: 0 }),
    // Without sync the placement's view never refreshes: trust it as is and never age it out.
    ...(o.sync ? {} : { maxEntryAgeMs: Infinity, stalenessFactor: 0 }),
  });
  let zones: number[][] = [];
  let zoneIndex: number[] = [];
  let drivers: PlacementDriver[] = [];
  let book: ServerStateBook;
  let ring: RingSync | null = null;
  let staticViews: ClusterView[] = [];
  let learned: OnlineForecast;
  /** The items' slack at their access servers, kept only when placement reads it (`placementOptions.arrivalSlack` or `serverSwap`). */
  let slackBook: ArrivalSlackBook | null = null;
  let lastPlacedAt: number[] = [];
  let shiftReplacements = 0;
  const retryAt = new Map<SimStream, number>();
  /** Streams whose admission is still travelling between servers (no second one starts meanwhile). */
  const admitting = new Set<SimStream>();
  /** Frames each pinned stream sent to its instance and got answered, in the current window (`unpinFailingStreams`). */
  const outcomes = new StreamOutcomes<SimStream>(20, 0.1);
  /** When each server's own egress link is through with the offloads it sent (what a server knows of its NIC queue), and when it was. */
  let egress = new EgressHistory(0);
  /** Each server's own link rate, bytes/ms (flat: the preset → device kind → rate chain was three dependent loads per offload). */
  let linkOf: Float64Array = new Float64Array(0);
  let replacements = 0;
  /** Per access server × service: the slack the last refusal its clients heard had on arrival, and until when they heed it (`heedRefusalsMs`). */
  let refusedSlack: Float64Array = new Float64Array(0);
  let heedUntil: Float64Array = new Float64Array(0);
  /** Bytes/ms of each server's link committed to the streams whose frames it sends on to peers. */
  let streamEgress = new StreamEgress<SimStream>(0);
  /** Failures and returns as the zones' placements know them (after `failureDetectionMs`). */
  let health: DetectedHealth;
  /** Arrivals on their way to the forecaster over the ring (with sync on). */
  let carried: CarriedArrivals;
  /** What the streams' clients know of their admission (clients keep frames only with `holdRefusedFramesMs`). */
  const clients = new StreamClients(o.holdRefusedFramesMs < Number.POSITIVE_INFINITY);

  /** What routing at `server` reads: the entries of its view that host service `k`. */
  const sliceOf = (world: World, server: number, k: number): ClusterView =>
    ring !== null ? ring.slice(server, k) : serviceView(staticViews[zoneIndex[server]!]!, world.services[k]!.spec.id);

  function place(world: World, zone: number, warm: boolean): void {
    lastPlacedAt[zone] = world.clock.now();
    drivers[zone]!.run(world, learned.demand(), warm);
    if (ring === null) {
      const now = world.clock.now();
      const entries: ServerEntry[] = zones[zone]!.map((s) => ({ ...book.entry(s, 0), updatedAt: now, instances: book.entry(s, 0).instances.map((i) => ({ ...i, status: 'ready' as const, waitMs: 0, loadPerSec: 0 })) }));
      staticViews[zone] = createView(entries);
    }
  }

  function pin(world: World, stream: SimStream, inst: SimInstance): void {
    stream.pinned = inst;
    inst.pinnedHz += stream.rateHz;
    chargeLink(world, stream, stream.origin);
    clients.tell(world, stream, true);
  }

  /** Pins a stream to the instance a peer reserved for it (the peer added its rate when it admitted it). */
  function pinReserved(world: World, stream: SimStream, inst: SimInstance): void {
    stream.pinned = inst;
    chargeLink(world, stream, stream.origin);
    clients.tell(world, stream, true);
  }

  function unpin(world: World, stream: SimStream): void {
    const was = stream.pinned !== null;
    if (stream.pinned !== null) stream.pinned.pinnedHz -= stream.rateHz;
    stream.pinned = null;
    streamEgress.charge(stream, -1, 0);
    if (was && !stream.ended) clients.tell(world, stream, false);
  }

  /**
   * Charges a pinned stream's frames to the link they leave over: that of `access`, the server its frames enter
   * at, when a peer serves them (none when `access` hosts the instance). Called again as frames arrive, so the
   * charge follows a client that reaches another access server.
   */
  function chargeLink(world: World, stream: SimStream, access: number): void {
    const inst = stream.pinned;
    streamEgress.charge(stream, inst !== null && inst.server !== access ? access : -1, (world.services[stream.service]!.payloadBytes * stream.rateHz) / 1000);
  }

  /**
   * Counts a frame a stream sends to its pinned instance; a stream of which fewer than 2 of a window of 20 frames
   * came back answered is unpinned (its pinned rate freed for streams that can be served) and admitted again no
   * sooner than `UNPIN_BACKOFF_MS` later; meanwhile its frames are routed one by one.
   */
  function notePinnedFrame(world: World, stream: SimStream): void {
    if (!outcomes.sent(stream)) return;
    unpin(world, stream);
    retryAt.set(stream, world.clock.now() + UNPIN_BACKOFF_MS);
  }

  /**
   * Starts a stream's admission at its access server. Decided there when one of its own instances takes it;
   * otherwise the request travels to the peer core `admitStream` names, paying the delay between them, is
   * decided there on that peer's own state (which reserves the rate when it admits), and the answer travels back
   * before the stream is pinned — its frames are routed one by one meanwhile.
   */
  function admit(world: World, stream: SimStream): void {
    if (admitting.has(stream)) return;
    admitAt(world, stream, stream.origin, 0, []);
  }

  function admitAt(world: World, stream: SimStream, server: number, hops: number, visited: string[]): void {
    const svc = world.services[stream.service]!;
    const now = world.clock.now();
    const staleness = svc.spec.slo.kind === 'frequency' ? svc.spec.slo.stalenessMs : undefined;
    // A server knows which streams it pinned to its own instances: their spare rate is the capacity less those
    // commitments, not less the measured arrivals, which count the frames of unadmitted streams routed one by one
    // (those would not need routing once their stream is pinned).
    const local = world.instancesByServer[server]!.filter((i) => i.service === stream.service && i.status === 'ready').map((i) => ({ ...book.info(i, now), loadPerSec: i.pinnedHz }));
    const self = world.servers[server]!.spec.id;
    // The stream's frames leave through its access server's link whichever peer serves them.
    const egress = server === stream.origin && o.streamEgressShare < Infinity ? (o.streamEgressShare * linkOf[server]! - streamEgress.committed(server)) * 1000 : undefined;
    const d = admitStream({ stream: { serviceId: svc.spec.id, rateHz: stream.rateHz, stalenessMs: staleness, frameBytes: svc.payloadBytes, hops, visited }, localInstances: local, view: sliceOf(world, server, stream.service), self, now, network: book.network(server), ...(egress === undefined ? {} : { egressSpareBytesPerSec: egress }), options: route });
    if (d.action === 'local') {
      const inst = world.instancesByServer[server]!.find((i) => String(i.id) === d.instanceId) ?? null;
      if (server === stream.origin) {
        if (inst !== null) pin(world, stream, inst);
        return;
      }
      // The peer commits the rate now; the stream's access server learns of it when the answer arrives.
      if (inst !== null) inst.pinnedHz += stream.rateHz;
      return answer(world, { stream, hops, visited, inst }, server);
    }
    if (d.action === 'forward' && hops < route.hopLimit) {
      const next = indexOf(world, d.serverId);
      admitting.add(stream);
      // The access server counts the stream against its own link as soon as it sends the stream elsewhere, so that
      // the streams it sends on while the answers travel do not overcommit the link.
      if (o.chargeLinkWhileAdmitting && server === stream.origin) streamEgress.charge(stream, server, (svc.payloadBytes * stream.rateHz) / 1000);
      world.schedule(now + world.network.delayMs(server, next), EV_ADMIT, next, { stream, hops: hops + 1, visited: [...visited, self], inst: null } satisfies Admission);
      return;
    }
    if (server === stream.origin) retryAt.set(stream, now + REFUSED_BACKOFF_MS);
    else answer(world, { stream, hops, visited, inst: null }, server);
  }

  /** A peer's answer (the instance it reserved, or none) travels back to the stream's access server. */
  function answer(world: World, adm: Admission, from: number): void {
    admitting.add(adm.stream);
    world.schedule(world.clock.now() + world.network.delayMs(from, adm.stream.origin), EV_ADMIT_REPLY, from, adm);
  }

  function onAdmitted(world: World, adm: Admission): void {
    const { stream, inst } = adm;
    admitting.delete(stream);
    const usable = inst !== null && inst.status === 'ready' && !stream.ended && stream.pinned === null;
    if (!usable) {
      if (inst !== null) inst.pinnedHz -= stream.rateHz;
      if (stream.pinned === null) streamEgress.charge(stream, -1, 0);
      if (!stream.ended) retryAt.set(stream, world.clock.now() + REFUSED_BACKOFF_MS);
      return;
    }
    pinReserved(world, stream, inst);
  }

  /** An admission request reached a peer: decided there, unless the peer is down (then it is lost, and retried). */
  function onAdmitRequest(world: World, adm: Admission, server: number): void {
    if (!world.serverAlive[server] || adm.stream.ended) {
      admitting.delete(adm.stream);
      if (adm.stream.pinned === null) streamEgress.charge(adm.stream, -1, 0);
      retryAt.set(adm.stream, world.clock.now() + REFUSED_BACKOFF_MS);
      return;
    }
    admitting.delete(adm.stream);
    admitAt(world, adm.stream, server, adm.hops, adm.visited);
  }

  // Scratch inputs of core routeRequest, refilled per request (it reads them synchronously, keeps none).
  const scratchRequest = { serviceId: '', deadline: 0, hops: 0, visited: NO_VISITS as readonly string[], payloadBytes: 0, responseBytes: 0 };
  const scratchLocal = { completionAt: 0, ready: true };
  const scratch: { -readonly [K in keyof RouteRequestInput]: RouteRequestInput[K] } = {
    request: scratchRequest, local: undefined, view: { entries: {} }, self: '', now: 0, network: undefined, options: route,
  };
  const routePlan = new RoutePlan();

  function routeAsRequest(world: World, req: SimRequest, server: number): void {
    const svc = world.services[req.service]!;
    const now = world.clock.now();
    let best: SimInstance | undefined;
    let bestAt = Infinity;
    for (const inst of world.instancesByServer[server]!) {
      if (inst.service !== req.service || inst.status !== 'ready') continue;
      const at = estimateCompletion(inst, now, 0, world.interference);
      if (at < bestAt) {
        bestAt = at;
        best = inst;
      }
    }
    const back = world.network.downlinkMs(req.origin, svc.responseBytes) + (server === req.origin ? 0 : world.network.transferMs(server, req.origin, svc.responseBytes));
    const r = scratchRequest;
    r.serviceId = svc.spec.id;
    r.deadline = req.dueAt - back;
    r.hops = req.hops;
    r.visited = req.visitedIds;
    r.payloadBytes = svc.payloadBytes;
    r.responseBytes = svc.responseBytes;
    scratchLocal.completionAt = bestAt;
    scratch.local = best === undefined ? undefined : scratchLocal;
    scratch.view = sliceOf(world, server, req.service);
    scratch.self = world.serverIds[server]!;
    scratch.now = now;
    scratch.network = book.network(server);
    let d = routeRequestInto(scratch, routePlan);
    if (d.action === 'local') return world.enqueue(best!, req);
    const wait = o.egressAwareOffload ? egress.freeAt(server) - now : 0;
    if (d.action === 'forward' && wait > 0) {
      // The payload leaves only after what this server already sent: peers must meet the deadline after that wait.
      r.deadline -= wait;
      scratch.local = undefined;
      d = routeRequestInto(scratch, routePlan);
    }
    if (d.action === 'forward') return forward(world, req, server, indexOf(world, d.serverId));
    if (d.action === 'local') return world.enqueue(best!, req);
    // The refusal's answer takes the access leg down: its client heeds it from then (`heedRefusalsMs`).
    if (d.code === 'DEADLINE_INFEASIBLE' && req.hops === 0 && req.stream === null && o.heedRefusalsMs > 0) {
      world.schedule(now + world.network.downlinkMs(server, REFUSAL_BYTES), EV_REFUSAL_HEARD, server * world.services.length + req.service, req.dueAt - now);
    }
    world.dropItem(req, d.code!);
  }

  /**
   * Whether a request reaching its access server at `arriveAt` would be refused there as infeasible, by what the
   * client hears from that server: no ready instance of its service there, and no peer in its view could answer the
   * request in time even idle, behind the server's egress backlog as it stood one access leg ago (the backlog only
   * grows until the request arrives, so it can only be longer then).
   */
  function hopeless(world: World, req: SimRequest, arriveAt: number): boolean {
    const server = req.origin;
    for (const inst of world.instancesByServer[server]!) if (inst.service === req.service && inst.status === 'ready') return false;
    const svc = world.services[req.service]!;
    const now = world.clock.now();
    const back = world.network.downlinkMs(req.origin, svc.responseBytes);
    // The client hears of its access server's egress backlog one access leg late.
    const wait = o.egressAwareOffload ? Math.max(0, egress.at(server, now - world.servers[server]!.preset.accessLatencyMs) - arriveAt) : 0;
    const r = scratchRequest;
    r.serviceId = svc.spec.id;
    r.deadline = req.dueAt - back - (arriveAt - now) - wait;
    r.hops = 0;
    r.visited = NO_VISITS;
    r.payloadBytes = svc.payloadBytes;
    r.responseBytes = svc.responseBytes;
    scratch.local = undefined;
    scratch.view = sliceOf(world, server, req.service);
    scratch.self = world.serverIds[server]!;
    scratch.now = now;
    scratch.network = book.network(server);
    const d = routeRequestInto(scratch, routePlan);
    return d.action === 'reject' && d.code === 'DEADLINE_INFEASIBLE';
  }

  /** Offloads one item, keeping this server's egress backlog (payload bytes over its own link rate). */
  function forward(world: World, req: SimRequest, from: number, to: number): void {
    if (o.egressAwareOffload) egress.send(from, world.clock.now(), world.payloadOf(req) / linkOf[from]!);
    world.forward(req, from, to);
  }

  /**
   * A client's admission request reached its access server. Admission starts there unless the stream is being
   * admitted (the answer will tell the client), in its backoff, or pinned (the client is told so again).
   */
  function onClientAdmit(world: World, stream: SimStream): void {
    clients.arrived(stream);
    if (stream.ended || !world.serverAlive[stream.origin] || admitting.has(stream)) return;
    if (stream.pinned !== null) return clients.tell(world, stream, true);
    if (world.clock.now() >= (retryAt.get(stream) ?? 0)) admit(world, stream);
  }

  /**
   * Counts an arrival at its access server for the forecaster. With the ring on, the count reaches the forecaster
   * (at the zone's placer) only when the ring's token has taken it from that server and completed its round.
   */
  function countForForecast(server: number, service: number): void {
    if (ring === null) learned.record(service, server);
    else carried.count(server, service);
  }

  function scheduleReplacement(world: World, zone: number): void {
    if (!o.periodicPlacement) return;
    world.schedule(world.clock.now() + o.failureDetectionMs, EV_PLACE, zone, 'now');
  }

  return {
    name: o.categorize && o.offload && o.periodicPlacement && o.sync ? 'epara' : ablationName(o),
    start(world) {
      ({ zones, zoneIndex } = zonesOf(world));
      egress = new EgressHistory(world.servers.length);
      streamEgress = new StreamEgress<SimStream>(world.servers.length);
      refusedSlack = new Float64Array(world.servers.length * world.services.length);
      heedUntil = new Float64Array(world.servers.length * world.services.length);
      linkOf = Float64Array.from(world.servers, (s) => DEVICE_KINDS[s.preset.deviceKind]!.linkBytesPerMs);
      learned = new OnlineForecast(world, { halfLifeMs: o.forecastHalfLifeMs });
      slackBook = placementReadsSlack(o.placementOptions) ? new ArrivalSlackBook(world) : null;
      lastPlacedAt = zones.map(() => 0);
      health = new DetectedHealth(world, o.failureDetectionMs);
      carried = new CarriedArrivals(world.servers.length, world.services.length, zones, zoneIndex);
      // The zone's placement runs at its first server it takes as alive (the ring's starter), reading that server's view.
      const knowledge = (z: number): PlacementKnowledge => ({
        placer: () => zones[z]!.find((s) => health.serverAlive(s)) ?? zones[z]![0]!,
        serverAlive: (s) => health.serverAlive(s),
        deviceHealthy: (w, s, d) => health.deviceHealthy(w, s, d),
        entryOf: (w, placer, s) => ring?.view(placer).entries[w.serverIds[s]!],
      });
      drivers = zones.map((servers, z) => createPlacementDriver({ knowledge: knowledge(z), zone: z, servers, categorize: o.categorize, strategyOptions: o.strategyOptions, placementOptions: { periodMs: o.placementPeriodMs, ...(o.profileInterference ? { colocationSlowdown: world.interference } : {}), ...o.placementOptions }, policy: { kind: 'deadline', guardMs: o.batchGuardMs, shareAware: o.shareAwareLaunch, learnedGuard: o.learnedGuard, guardOptions: o.learnedGuardOptions, ratePacks: o.ratePacks, fillAware: o.fillAwareWait, overloadBelowPlan: o.overloadBelowPlan, skipShrinkingHead: o.skipShrinkingHead }, demandHeadroom: o.demandHeadroom, accessInDelays: o.accessAwareLocality, transferInReach: o.transferAwareLocality, ...(slackBook !== null ? { arrivalSlack: (w: World, servers: readonly number[]) => slackBook!.slackMs(w, servers) } : {}) }));
      book = new ServerStateBook(world, (s) => drivers[zoneIndex[s]!]!, (s) => zones[zoneIndex[s]!]!, o.reportNextRun);
      if (o.sync) {
        ring = createRingSync({
          zones, options: syncO, serviceIds: world.services.map((s) => s.spec.id),
          entryOf: (s) => {
            carried.take(s);
            return book.entry(s, syncO.noise);
          },
          onDeadDetected: () => {}, onRoundDone: (z) => carried.deliver(z, (k, s, n) => learned.record(k, s, n)),
        });
      }
      zones.forEach((_, z) => place(world, z, true));
      ring?.start(world);
      if (o.periodicPlacement) zones.forEach((_, z) => world.schedule(o.placementPeriodMs, EV_PLACE, z, 'tick'));
      world.schedule(o.forecastWindowMs, EV_FORECAST, 0);
    },
    onRequest(world, req, server) {
      if (req.hops === 0) {
        book.countArrival(server, req.service);
        countForForecast(server, req.service);
        if (slackBook !== null) slackBook.record(req.service, server, req.dueAt - world.clock.now() - world.network.downlinkMs(req.origin, world.services[req.service]!.responseBytes));
      }
      const stream = req.stream;
      if (stream !== null && o.categorize) {
        // Only the server hosting the pinned instance knows it is gone (drained or failed): the stream's access
        // server learns it from that server's notice, and forwards its frames there until then.
        const held = stream.pinned;
        if (held !== null && held.server === server && held.status !== 'ready') {
          if (req.hops === 0) unpin(world, stream);
          else world.schedule(world.clock.now() + world.network.delayMs(server, stream.origin), EV_PIN_LOST, server, { stream, inst: held });
        }
        if (stream.pinned === null && world.clock.now() >= (retryAt.get(stream) ?? 0)) admit(world, stream);
        const inst = stream.pinned;
        if (inst !== null && (inst.server === server ? inst.status === 'ready' : req.hops === 0)) {
          if (req.hops === 0) {
            chargeLink(world, stream, server);
            if (o.unpinFailingStreams) notePinnedFrame(world, stream);
          }
          if (inst.server === server) return world.enqueue(inst, req);
          return forward(world, req, server, inst.server);
        }
      }
      routeAsRequest(world, req, server);
    },
    onStreamStart(world, stream) {
      // The client asks its access server to admit the stream: the request takes the access leg up.
      if (o.categorize) clients.ask(world, stream);
    },
    skipsUpload(world, req, arriveAt) {
      // The client acts only while its uplink is backed up (it knows its own link, as the world's own skip): then an
      // upload it skips gives its transfer time to the ones behind it. Like the world's skips, its access server
      // never sees the request (its forecast and slack count only what arrives).
      if (req.stream !== null) return false;
      const now = world.clock.now();
      const backlog = world.network.upBacklogMs(req.origin, now);
      if (backlog > o.heedRefusalsBacklogMs && o.heedRefusalsMs > 0) {
        // A refusal heard lately: an upload that would arrive with no more slack than the refused one is not sent.
        const i = req.origin * world.services.length + req.service;
        if (now < heedUntil[i]! && req.dueAt - arriveAt <= refusedSlack[i]!) return true;
      }
      if (!(backlog > o.skipHopelessUploadsMs)) return false;
      return hopeless(world, req, arriveAt);
    },
    holdsFrame(world, stream) {
      if (!o.categorize || !(o.holdRefusedFramesMs < Number.POSITIVE_INFINITY)) return false;
      // The client knows only what its access server told it (one access leg ago): it keeps the frames of a stream
      // it does not know pinned, its admission pending or refused.
      if (clients.knowsPinned(stream)) return false;
      const now = world.clock.now();
      // The client of a refused stream retries admission (a control message up its access leg) when its backoff ends.
      if (now >= (retryAt.get(stream) ?? 0)) clients.ask(world, stream);
      return world.network.upBacklogMs(stream.origin, now) > o.holdRefusedFramesMs;
    },
    onStreamEnd(world, stream) {
      unpin(world, stream);
      retryAt.delete(stream);
      outcomes.forget(stream);
      clients.forget(stream);
    },
    onEvent(world, kind, a, ref) {
      if (ring?.onEvent(world, kind, a, ref) === true) return;
      if (kind === EV_ADMIT) return onAdmitRequest(world, ref as Admission, a);
      if (kind === EV_ADMIT_REPLY) return onAdmitted(world, ref as Admission);
      if (kind === EV_CLIENT_ADMIT) return onClientAdmit(world, ref as SimStream);
      if (kind === EV_CLIENT_ANSWER) return clients.heard(ref);
      if (kind === EV_HEALTH_DETECTED) return health.detected(world, ref);
      if (kind === EV_PLACEMENT_COMMAND || kind === EV_PLACEMENT_NOTICE) return drivers[a]!.onEvent(world, kind, ref);
      if (kind === EV_REFUSAL_HEARD) {
        refusedSlack[a] = ref as number;
        heedUntil[a] = world.clock.now() + o.heedRefusalsMs;
        return;
      }
      if (kind === EV_PIN_LOST) {
        const { stream, inst } = ref as { stream: SimStream; inst: SimInstance };
        if (stream.pinned === inst) unpin(world, stream);
        return;
      }
      if (kind === EV_FORECAST) {
        const now = world.clock.now();
        // A detected demand shift re-places its zone early (no sooner than minReplaceGapMs after its last placement).
        const shifted = learned.close(now);
        if (shifted.length > 0 && o.periodicPlacement && o.reactToShifts) {
          for (const z of new Set(shifted.map((s) => zoneIndex[s]!))) {
            if (now - lastPlacedAt[z]! < o.minReplaceGapMs) continue;
            shiftReplacements++;
            place(world, z, false);
          }
        }
        world.schedule(now + o.forecastWindowMs, EV_FORECAST, 0);
        return;
      }
      if (kind !== EV_PLACE) return;
      place(world, a, false);
      replacements++;
      if (ref === 'tick') world.schedule(world.clock.now() + o.placementPeriodMs, EV_PLACE, a, 'tick');
    },
    onFailure(world, server, device, recovered) {
      if (recovered && device === null) book.bumpEpoch(server);
      // Detection is scheduled first: the re-placement at the same time reads it.
      health.noted(world, server, device, recovered);
      scheduleReplacement(world, zoneIndex[server]!);
    },
    onBatchDone(_world, inst, items) {
      if (o.unpinFailingStreams && inst.plan.requestStrategy === 'multi-frame') {
        for (const r of items) {
          if (r.stream === null || r.stream.pinned !== inst) continue;
          outcomes.served(r.stream);
        }
      }
    },
    onInstanceChange(world, inst) {
      drivers[zoneIndex[inst.server]!]?.noticed(world, inst);
    },
    describe: () => ({
      options: { locality: o.placementOptions.locality ?? DEFAULT_PLACEMENT_OPTIONS.locality, categorize: o.categorize, offload: o.offload, periodicPlacement: o.periodicPlacement, sync: o.sync, placementPeriodMs: o.placementPeriodMs, batchGuardMs: o.batchGuardMs, shareAwareLaunch: o.shareAwareLaunch, learnedGuard: o.learnedGuard, ratePacks: o.ratePacks, fillAwareWait: o.fillAwareWait, overloadBelowPlan: o.overloadBelowPlan, skipShrinkingHead: o.skipShrinkingHead, reportNextRun: o.reportNextRun, egressAwareOffload: o.egressAwareOffload, holdRefusedFramesMs: o.holdRefusedFramesMs, skipHopelessUploadsMs: o.skipHopelessUploadsMs, heedRefusalsMs: o.heedRefusalsMs, heedRefusalsBacklogMs: o.heedRefusalsBacklogMs, streamEgressShare: o.streamEgressShare, hopLimit: route.hopLimit },
      sync: o.sync ? { ...syncO, ...ring!.stats() } : 'off',
      placements: replacements + zones.length + shiftReplacements,
      shiftReplacements,
      forecast: learned.stats(),
      placement: drivers.map((d) => d.stats())[0],
      zones: zones.length,
    }),
  };
}

function ablationName(o: EparaSystemOptions): string {
  const off = [!o.categorize && 'no-categorization', !o.offload && 'no-offloading', !o.periodicPlacement && 'static-placement', !o.sync && 'no-sync'].filter(Boolean);
  return `epara-${off.join('+')}`;
}

function strip<T extends object>(v: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && k !== 'kind') out[k] = x;
  return out as Partial<T>;
}
