import { estimateCompletion, profileMs } from '../world/device-model.js';
import type { SimSystem } from '../world/system.js';
import type { SimInstance, SimRequest } from '../world/types.js';
import type { World } from '../world/world.js';
import { OnlineForecast } from './online-forecast.js';
import { createPlacementDriver, type PlacementDriver } from './placement-driver.js';
import { deployReplicas, groupReplicas } from './replica.js';
import { tritonStaticPlacement } from './triton-config.js';
import { zonesOf } from './zones.js';

/** Parameters of the centralized SLO scheduler (and of the oracle upper bound). */
export interface CentralizedOptions {
  /**
   * `false`: the deployable scheduler (controller at one site, decision time, throughput cap, lagged state,
   * a control round trip per request, its own placement). `true`: the oracle upper bound (not deployable):
   * a free controller per zone with exact, instant state and EPARA's placement. @default false
   */
  readonly oracle: boolean;
  /** Server hosting the controller (deployable mode). @default 0 */
  readonly controllerServer: number;
  /** Controller time per decision, ms; decisions are serialized, so `1000 / decisionMs` is its throughput cap. @default 0.05 */
  readonly decisionMs: number;
  /** Workers report their queues to the controller every this many ms (its state lags by this plus the delay). @default 50 */
  readonly reportIntervalMs: number;
  /** Placement period, ms. @default 30000 */
  readonly placementPeriodMs: number;
  /** Capacity planned for `forecast × demandHeadroom`. @default 1.25 */
  readonly demandHeadroom: number;
  /** Launch guard of the batch rule, ms. @default 2 */
  readonly batchGuardMs: number;
  /** Safety margin on the dispatcher's completion estimate, ms. @default 1 */
  readonly guardMs: number;
  /**
   * Workers launch a partial batch at once when their recent arrivals will not fill it before the head item's
   * latest start (core `planLaunch`'s `arrivalsPerMs`), instead of idling until then: a Clockwork-like worker
   * runs what it was sent when its GPU is free. The same rule EPARA and the runtime use. @default true
   */
  readonly fillAwareWait: boolean;
  /**
   * Workers' overload rule also tries batches between the one the head's deadline allows and the plan's
   * (core `planLaunch`'s `overloadBelowPlan`), as EPARA's instances do. @default true
   */
  readonly overloadBelowPlan: boolean;
  /**
   * Overloaded workers pass over a head item that only a small batch can still serve when a batch of later
   * items completes 4× as many on-time items per ms (core `planLaunch`'s `skipShrinkingHead`), as EPARA's
   * instances do. @default true
   */
  readonly skipShrinkingHead: boolean;
}

/** Defaults of {@link CentralizedOptions}. */
export const DEFAULT_CENTRALIZED_OPTIONS: CentralizedOptions = { oracle: false, controllerServer: 0, decisionMs: 0.05, reportIntervalMs: 50, placementPeriodMs: 30_000, demandHeadroom: 1.25, batchGuardMs: 2, guardMs: 1, fillAwareWait: true, overloadBelowPlan: true, skipShrinkingHead: true };

const EV_DECIDE = 70;
const EV_PLACE = 71;
const EV_REPORT = 72;
const EV_ANSWER = 73;
const EV_FORECAST = 74;

/**
 * A centralized earliest-completion dispatcher (Clockwork/SHEPHERD-like). Deployable mode: every request
 * costs a control round trip between its access server and the controller; the controller decides one
 * request at a time (`decisionMs` each, so requests queue at it under load) from worker reports that are
 * `reportIntervalMs` plus the network delay old, plus what it dispatched since; it places replicas itself
 * (demand-proportional, bin-packed by memory, batches sized so an item can wait one batch and run the next,
 * from its learned forecast) every period. The oracle
 * (not deployable) sees every queue exactly, decides for free, and uses EPARA's placement.
 */
export function createCentralizedSystem(options: Partial<CentralizedOptions> = {}): SimSystem {
  const o: CentralizedOptions = { ...DEFAULT_CENTRALIZED_OPTIONS, ...strip(options) };
  let zones: number[][] = [];
  let zoneIndex: number[] = [];
  let drivers: PlacementDriver[] = [];
  let learned: OnlineForecast;
  /** Oracle: dispatched requests still in flight. Deployable: requests dispatched since the last report. */
  const incoming = new Map<SimInstance, number>();
  // Lagged state: per instance, the backlog (ms of work ahead of a new item) and time of its last report.
  const reported = new Map<SimInstance, { backlogMs: number; at: number }>();
  const target = new Map<SimRequest, SimInstance>();
  let ctrlFreeAt = 0;
  let decisions = 0;
  let maxControllerQueueMs = 0;
  let owned: SimInstance[] = [];

  const controllerOf = (world: World, server: number): number => {
    if (o.oracle) return zones[zoneIndex[server]!]!.find((s) => world.serverAlive[s]) ?? server;
    return world.serverAlive[o.controllerServer] ? o.controllerServer : world.servers.findIndex((_, s) => world.serverAlive[s]);
  };

  /** When the controller believes a request joining `inst` now would finish on the device. */
  function believedCompletion(world: World, inst: SimInstance, now: number): number {
    const extra = incoming.get(inst) ?? 0;
    if (o.oracle) return estimateCompletion(inst, now, extra, world.interference);
    const r = reported.get(inst);
    const backlog = r === undefined ? 0 : Math.max(0, r.backlogMs - (now - r.at));
    const replicas = inst.plan.serviceStrategy === 'data-parallel' ? inst.devices.length : 1;
    return now + backlog + (extra * profileMs(inst, inst.plan.batchSize)) / inst.plan.batchSize / replicas + profileMs(inst, 1);
  }

  function decide(world: World, req: SimRequest, ctrl: number): void {
    decisions++;
    const now = world.clock.now();
    const svc = world.services[req.service]!;
    // The deployable controller's answer travels back to the access server; the oracle decides where the request
    // is, for free (no control round trip either way).
    const back = o.oracle ? 0 : world.network.delayMs(ctrl, req.origin);
    let best: SimInstance | undefined;
    let bestAt = Infinity;
    const candidates = o.oracle ? zones[zoneIndex[req.origin]!]! : world.servers.map((s) => s.index);
    for (const s of candidates) {
      if (!world.serverAlive[s]) continue;
      for (const inst of world.instancesByServer[s]!) {
        if (inst.service !== req.service || inst.status !== 'ready') continue;
        const arrive = now + back + world.network.transferMs(req.origin, s, world.payloadOf(req));
        const ret = world.network.transferMs(s, req.origin, svc.responseBytes) + world.network.downlinkMs(req.origin, svc.responseBytes);
        const at = Math.max(believedCompletion(world, inst, now), arrive) + ret;
        if (at < bestAt) {
          bestAt = at;
          best = inst;
        }
      }
    }
    if (best === undefined) return world.dropItem(req, 'NO_INSTANCE');
    if (bestAt > req.dueAt - o.guardMs) return world.dropItem(req, 'OVERLOADED');
    incoming.set(best, (incoming.get(best) ?? 0) + 1);
    target.set(req, best);
    world.schedule(now + back, EV_ANSWER, req.origin, req);
  }

  /** The controller's answer reached the access server: send the request to the chosen instance. */
  function onAnswer(world: World, req: SimRequest, origin: number): void {
    const t = target.get(req)!;
    if (t.server === origin) return arrive(world, req);
    world.forward(req, origin, t.server);
  }

  function arrive(world: World, req: SimRequest): void {
    const t = target.get(req)!;
    target.delete(req);
    if (o.oracle) incoming.set(t, (incoming.get(t) ?? 1) - 1);
    if (t.status === 'ready' || t.status === 'draining') return world.enqueue(t, req);
    world.dropItem(req, 'WORKER_CRASHED');
  }

  function report(world: World): void {
    const now = world.clock.now();
    for (const list of world.instancesByServer) {
      for (const inst of list) {
        const lag = world.network.delayMs(inst.server, o.controllerServer);
        reported.set(inst, { backlogMs: estimateCompletion(inst, now, 0, world.interference) - now - profileMs(inst, 1), at: now - lag });
        // What the controller dispatched before this report is (about) in the reported queue now.
        incoming.set(inst, 0);
      }
    }
    world.schedule(now + o.reportIntervalMs, EV_REPORT, 0);
  }

  function placeOwn(world: World, warm: boolean): void {
    const unavailable = new Set<string>();
    world.devices.forEach((d) => {
      if (!d.healthy || !world.serverAlive[d.server]) unavailable.add(`${d.server}:${d.local}`);
    });
    const demand = learned.demand().map((row) => row.map((x) => x * o.demandHeadroom));
    const plan = tritonStaticPlacement({ servers: world.servers, services: world.services, demand, unavailable, budgetFactor: 0.5 });
    const want = new Set(plan.map((r) => `${r.service}@${r.server}:${r.devices.join('+')}`));
    const keyOf = (i: SimInstance): string[] => i.devices.map((d) => `${i.service}@${i.server}:${d.local}`);
    const have = new Set(owned.filter((i) => i.status !== 'gone' && i.status !== 'draining').flatMap((i) => (i.plan.serviceStrategy === 'model-parallel' ? [`${i.service}@${i.server}:${i.devices.map((d) => d.local).join('+')}`] : keyOf(i))));
    // Drain instances no longer wanted, then load the new replicas (device memory permitting).
    for (const inst of owned) {
      if (inst.status === 'gone' || inst.status === 'draining') continue;
      const keys = inst.plan.serviceStrategy === 'model-parallel' ? [`${inst.service}@${inst.server}:${inst.devices.map((d) => d.local).join('+')}`] : keyOf(inst);
      if (!keys.every((k) => want.has(k))) world.drainInstance(inst);
    }
    const fresh = plan.filter((r) => !have.has(`${r.service}@${r.server}:${r.devices.join('+')}`));
    for (const group of groupReplicas(fresh)) owned.push(...deployReplicas(world, group, { kind: 'deadline', guardMs: o.batchGuardMs, fillAware: o.fillAwareWait, overloadBelowPlan: o.overloadBelowPlan, skipShrinkingHead: o.skipShrinkingHead }, warm));
    owned = owned.filter((i) => i.status !== 'gone');
  }

  function place(world: World, warm: boolean): void {
    if (o.oracle) return zones.forEach((_, z) => void drivers[z]!.run(world, learned.demand(), warm));
    placeOwn(world, warm);
  }

  return {
    name: o.oracle ? 'oracle' : 'centralized',
    start(world) {
      ({ zones, zoneIndex } = zonesOf(world));
      learned = new OnlineForecast(world);
      if (o.oracle) drivers = zones.map((servers) => createPlacementDriver({ servers, categorize: false, strategyOptions: {}, placementOptions: { periodMs: o.placementPeriodMs }, policy: { kind: 'deadline', guardMs: o.batchGuardMs, fillAware: o.fillAwareWait, overloadBelowPlan: o.overloadBelowPlan, skipShrinkingHead: o.skipShrinkingHead }, demandHeadroom: o.demandHeadroom }));
      place(world, true);
      world.schedule(o.placementPeriodMs, EV_PLACE, -1, 'tick');
      world.schedule(1000, EV_FORECAST, 0);
      if (!o.oracle) world.schedule(0, EV_REPORT, 0);
    },
    onRequest(world, req, server) {
      if (target.has(req)) return arrive(world, req);
      learned.record(req.service, server);
      const ctrl = controllerOf(world, server);
      const now = world.clock.now();
      if (o.oracle) return world.schedule(now, EV_DECIDE, ctrl, req);
      // The request waits for the controller: round trip to it, then its turn among queued decisions.
      const reach = now + world.network.delayMs(server, ctrl);
      const start = Math.max(reach, ctrlFreeAt);
      ctrlFreeAt = start + o.decisionMs;
      maxControllerQueueMs = Math.max(maxControllerQueueMs, start - reach);
      world.schedule(ctrlFreeAt, EV_DECIDE, ctrl, req);
    },
    onStreamStart() {},
    onStreamEnd() {},
    onEvent(world, kind, a, ref) {
      if (kind === EV_DECIDE) return decide(world, ref as SimRequest, a);
      if (kind === EV_ANSWER) return onAnswer(world, ref as SimRequest, a);
      if (kind === EV_REPORT) return report(world);
      if (kind === EV_FORECAST) {
        learned.close(world.clock.now());
        return world.schedule(world.clock.now() + 1000, EV_FORECAST, 0);
      }
      if (kind !== EV_PLACE) return;
      place(world, false);
      if (ref === 'tick') world.schedule(world.clock.now() + o.placementPeriodMs, EV_PLACE, -1, 'tick');
    },
    onFailure(world) {
      world.schedule(world.clock.now(), EV_PLACE, -1, 'now');
    },
    onInstanceChange(world, inst) {
      if (o.oracle) drivers[zoneIndex[inst.server]!]?.resume(world);
    },
    describe: () => ({ options: o, decisions, maxControllerQueueMs, placement: o.oracle ? drivers.map((d) => d.stats())[0] : 'own (demand-proportional, memory bin-packing, every period)', forecast: learned.stats(), controlRoundTrip: o.oracle ? 'none (oracle)' : 'access server ↔ controller, one per request' }),
  };
}

function strip<T extends object>(v: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && k !== 'kind') out[k] = x;
  return out as Partial<T>;
}
