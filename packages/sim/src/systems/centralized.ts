import { EV } from '../world/events.js';
import { estimateCompletion } from '../world/execution.js';
import type { SimSystem } from '../world/system.js';
import type { SimInstance, SimRequest } from '../world/types.js';
import type { World } from '../world/world.js';
import { createPlacementDriver, type PlacementDriver } from './placement-driver.js';
import { zonesOf } from './zones.js';

/** Parameters of the centralized baseline. */
export interface CentralizedOptions {
  /** Placement period, ms (the same greedy as EPARA, batching plans only). @default 30000 */
  readonly placementPeriodMs: number;
  /** Weight of the newest period's measured rates in the demand forecast. @default 0.5 */
  readonly demandSmoothing: number;
  /** Capacity planned for `forecast × demandHeadroom` (same as EPARA). @default 1.25 */
  readonly demandHeadroom: number;
  /** Launch guard of the batch rule, ms. @default 2 */
  readonly batchGuardMs: number;
  /** Safety margin on the dispatcher's completion estimate, ms. @default 1 */
  readonly guardMs: number;
}

/** Defaults of {@link CentralizedOptions}. */
export const DEFAULT_CENTRALIZED_OPTIONS: CentralizedOptions = { placementPeriodMs: 30_000, demandSmoothing: 0.5, demandHeadroom: 1.25, batchGuardMs: 2, guardMs: 1 };

const EV_DECIDE = 70;
const EV_PLACE = 71;

/**
 * A centralized dispatcher (Clockwork/SHEPHERD-like): every request costs one control round trip to the
 * zone's controller, which sees the exact, instantaneous queue of every instance (including requests already
 * dispatched but still in flight) and sends the request to the instance with the earliest completion that
 * meets the deadline, or rejects it. Batching only (frames are requests judged by their staleness limit);
 * periodic placement by the same core greedy on exactly measured demand, and instant re-placement after a
 * failure (the controller knows at once: generous to the baseline).
 */
export function createCentralizedSystem(options: Partial<CentralizedOptions> = {}): SimSystem {
  const o: CentralizedOptions = { ...DEFAULT_CENTRALIZED_OPTIONS, ...strip(options) };
  let zones: number[][] = [];
  let zoneIndex: number[] = [];
  let drivers: PlacementDriver[] = [];
  let forecast: number[][] = [];
  let counts: Float64Array[] = [];
  let lastMeasure = 0;
  const incoming = new Map<SimInstance, number>();
  const target = new Map<SimRequest, SimInstance>();
  let decisions = 0;

  const controllerOf = (world: World, zone: number): number => zones[zone]!.find((s) => world.serverAlive[s]) ?? zones[zone]![0]!;

  function decide(world: World, req: SimRequest, ctrl: number): void {
    decisions++;
    const now = world.clock.now();
    const svc = world.services[req.service]!;
    const back = world.network.delayMs(ctrl, req.origin);
    let best: SimInstance | undefined;
    let bestAt = Infinity;
    let bestArrive = 0;
    for (const s of zones[zoneIndex[req.origin]!]!) {
      if (!world.serverAlive[s]) continue;
      for (const inst of world.instancesByServer[s]!) {
        if (inst.service !== req.service || inst.status !== 'ready') continue;
        const arrive = now + back + world.network.transferMs(req.origin, s, svc.payloadBytes);
        const ret = world.network.transferMs(s, req.origin, svc.responseBytes) + world.network.downlinkMs(req.origin, svc.responseBytes);
        const at = Math.max(estimateCompletion(inst, now, incoming.get(inst) ?? 0), arrive) + ret;
        if (at < bestAt) {
          bestAt = at;
          best = inst;
          bestArrive = arrive;
        }
      }
    }
    if (best === undefined) return world.dropItem(req, 'NO_INSTANCE');
    if (bestAt > req.deadline - o.guardMs) return world.dropItem(req, 'OVERLOADED');
    incoming.set(best, (incoming.get(best) ?? 0) + 1);
    target.set(req, best);
    if (best.server !== req.origin) req.hops++;
    world.schedule(bestArrive, EV.AT_SERVER, best.server, req);
  }

  function place(world: World, zone: number, warm: boolean): void {
    drivers[zone]!.run(world, forecast, warm);
  }

  function measure(world: World): void {
    const now = world.clock.now();
    const dt = Math.max(1, now - lastMeasure);
    lastMeasure = now;
    counts.forEach((row, s) => row.forEach((c, k) => {
      forecast[k]![s] = o.demandSmoothing * ((c * 1000) / dt) + (1 - o.demandSmoothing) * forecast[k]![s]!;
      row[k] = 0;
    }));
  }

  return {
    name: 'centralized',
    start(world) {
      ({ zones, zoneIndex } = zonesOf(world));
      forecast = world.expectedDemand.map((row) => [...row]);
      counts = world.servers.map(() => new Float64Array(world.services.length));
      drivers = zones.map((servers) => createPlacementDriver({ servers, categorize: false, strategyOptions: {}, placementOptions: { periodMs: o.placementPeriodMs }, policy: { kind: 'deadline', guardMs: o.batchGuardMs }, demandHeadroom: o.demandHeadroom }));
      zones.forEach((_, z) => place(world, z, true));
      world.schedule(o.placementPeriodMs, EV_PLACE, -1, 'tick');
    },
    onRequest(world, req, server) {
      const t = target.get(req);
      if (t !== undefined) {
        target.delete(req);
        incoming.set(t, (incoming.get(t) ?? 1) - 1);
        if (t.status === 'ready' || t.status === 'draining') return world.enqueue(t, req);
        return world.dropItem(req, 'WORKER_CRASHED');
      }
      counts[server]![req.service]!++;
      const ctrl = controllerOf(world, zoneIndex[server]!);
      world.schedule(world.clock.now() + world.network.delayMs(server, ctrl), EV_DECIDE, ctrl, req);
    },
    onStreamStart() {},
    onStreamEnd() {},
    onEvent(world, kind, a, ref) {
      if (kind === EV_DECIDE) return decide(world, ref as SimRequest, a);
      if (kind !== EV_PLACE) return;
      measure(world);
      if (a >= 0) return place(world, a, false);
      zones.forEach((_, z) => place(world, z, false));
      world.schedule(world.clock.now() + o.placementPeriodMs, EV_PLACE, -1, 'tick');
    },
    onFailure(world, server) {
      world.schedule(world.clock.now(), EV_PLACE, zoneIndex[server]!, 'now');
    },
    onInstanceChange(world, inst) {
      drivers[zoneIndex[inst.server]!]?.resume(world);
    },
    describe: () => ({ options: o, decisions, placement: drivers.map((d) => d.stats())[0], controlRoundTrip: 'access server ↔ zone controller, one per request' }),
  };
}

function strip<T extends object>(v: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && k !== 'kind') out[k] = x;
  return out as Partial<T>;
}
