import { allocate, deviceKindsOf, placeServices } from '@epara/core';
import type { Category, DeviceSpec, ParallelPlan, PlacedInstance, PlacementResult, ServerSpec, ServiceDemand, ServiceSpec } from '@epara/core';
import type { DemoServiceId } from './catalog.js';
import { DEVICE_KIND } from './profiles.js';
import type { Workload } from './workload.js';
import { consolidateStreams } from './consolidate-streams.js';
import { keepLatencyDevices } from './latency-devices.js';
import { localReplicas, servedFrom, type ReplicaContext } from './local-replicas.js';

/** Declared memory of one demo device (a 1-thread CPU standing in for an accelerator), bytes. */
export const DEVICE_MEMORY_BYTES = 2 * 1024 ** 3;

/** Node ids of a cluster of `n` servers. */
export const nodeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `edge-${i}`);

/** The one device of each demo server. */
export function deviceOf(): DeviceSpec {
  return { id: 'cpu0', kind: DEVICE_KIND, memoryBytes: DEVICE_MEMORY_BYTES };
}

/** The demand forecast of a workload in core's shape (requests per entry node; streams with their entry node). */
export function demandOf(workload: Workload, specs: readonly ServiceSpec[], ids: readonly string[]): ServiceDemand[] {
  return specs.map((s) => {
    const id = s.id as DemoServiceId;
    if (s.sensitivity === 'latency') {
      const ratePerServer: Record<string, number> = {};
      workload.demand[id].forEach((r, i) => (ratePerServer[ids[i]!] = r));
      return { serviceId: s.id, ratePerServer };
    }
    if (workload.world === 'edge') {
      // The forecast's frames/s per entry as whole streams at the service's rate (the run's own sessions come and
      // go, and placing from them would read the future).
      const rateHz = s.slo.kind === 'frequency' ? s.slo.rateHz : 1;
      const streams = wholeStreams(workload.demand[id].map((r) => r / rateHz)).flatMap((n, i) => Array.from({ length: n }, () => ({ accessServer: ids[i]!, rateHz })));
      return { serviceId: s.id, ratePerServer: {}, streams };
    }
    const streams = workload.streams.filter((x) => x.serviceId === id).map((x) => ({ accessServer: ids[x.node]!, rateHz: x.rateHz }));
    return { serviceId: s.id, ratePerServer: {}, streams };
  });
}

/**
 * Whole streams per entry for fractional ones (`perEntry[i]` streams enter at `i`): the total rounded — at least one
 * stream when any is forecast —, each entry its whole part, the rest to the largest remainders. Rounded per entry,
 * a forecast whose streams spread over the entries in parts below one half placed no demand at all (at a low load
 * the loop's and VAD's, whose runs then opened a stream each).
 */
export function wholeStreams(perEntry: readonly number[]): number[] {
  const sum = perEntry.reduce((a, x) => a + x, 0);
  const total = Math.max(Math.round(sum), sum > 0 ? 1 : 0);
  const out = perEntry.map((x) => Math.floor(x));
  const order = perEntry.map((x, i) => ({ i, rest: x - Math.floor(x) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let k = 0, left = total - out.reduce((a, x) => a + x, 0); k < order.length && left > 0; k++, left--) out[order[k]!.i]!++;
  return out;
}

/** The initial EPARA placement: core's `allocate` per service, then `placeServices` over the servers. */
export interface InitialPlacement {
  readonly result: PlacementResult;
  /** What is loaded: the placement's instances plus {@link InitialPlacement.added}. */
  readonly instances: readonly PlacedInstance[];
  /** Instances the demo added for services the greedy left without one (see {@link planPlacement}). */
  readonly added: readonly PlacedInstance[];
  /** Replicas added where demand enters without an instance ({@link localReplicas}). */
  readonly replicas: readonly PlacedInstance[];
  readonly categories: Readonly<Record<string, Category>>;
  readonly servers: readonly ServerSpec[];
}

/**
 * Computes the placement from the workload's average demand (the forecast a host would have), with core's
 * locality objective over the measured one-way delays between the nodes (`delaysMs[i][j]`), then lets
 * {@link nearDemand} put each server's instances where their demand enters, and {@link localReplicas} add
 * replicas where demand still enters without an instance while the devices have time to spare (by the profiles,
 * or by measured costs and their own cap: `replicas`).
 */
export function planPlacement(
  specs: readonly ServiceSpec[],
  workload: Workload,
  nodes: number,
  delaysMs: readonly (readonly number[])[],
  bytesPerMs: number,
  replicas: ReplicaPolicy = {},
): InitialPlacement {
  const ids = nodeIds(nodes);
  const delays = Object.fromEntries(ids.map((a, i) => [a, Object.fromEntries(ids.map((b, j) => [b, delaysMs?.[i]?.[j] ?? 0]))]));
  const servers: ServerSpec[] = ids.map((id) => ({ id, devices: [deviceOf()] }));
  const demand = demandOf(workload, specs, ids);
  const kinds = deviceKindsOf(servers);
  const plans: Record<string, ReturnType<typeof allocate>['plans']> = {};
  const categories: Record<string, Category> = {};
  for (const [i, s] of specs.entries()) {
    // Batches stay within what was measured: past the last profiled batch the profile is an extrapolation.
    const measured = Object.values(s.profiles)[0]!.points;
    const a = allocate({ service: s, demand: demand[i]!, deviceKinds: kinds, options: { maxBatch: measured[measured.length - 1]!.batch } });
    plans[s.id] = a.plans;
    categories[s.id] = a.category;
  }
  const result = placeServices({ servers, services: specs, plans, demand, delaysMs: delays }, { locality: true });
  const added = coverEveryService(result.instances, specs, plans, ids);
  const moved = nearDemand([...result.instances, ...added], { specs, workload, ids, delaysMs, bytesPerMs });
  const { keepLatencyDevices: keep, deviceTime, consolidate, hostRules, ...policy } = replicas;
  // As core places: its instances (and a service it left without one), whole servers permuted toward their demand.
  if (hostRules === 'core') return { result, instances: moved, added, replicas: [], categories, servers };
  const base = { specs, workload, ids, delaysMs, bytesPerMs, itemBytes: ITEM_BYTES, deviceMemoryBytes: DEVICE_MEMORY_BYTES };
  const context = { ...base, ...policy };
  const local = localReplicas(moved, context);
  if (keep !== true && deviceTime === undefined && consolidate === undefined) return { result, instances: local, added, replicas: local.slice(moved.length), categories, servers };
  // On the measured device time only the streams' move is priced: priced so, the replica rule also dropped image
  // replicas its 60 % cap of profiled time had kept, and in the cluster model that lost more images than the
  // streams' hand-offs cost (cluster-model.test.ts).
  const kept = keep !== true && deviceTime === undefined ? local : keepLatencyDevices(local, deviceTime === undefined ? context : { ...base, ...deviceTime });
  const instances = consolidate === undefined ? kept : consolidateStreams(kept, { ...base, ...consolidate });
  const before = new Set(moved.map((p) => p.instanceId));
  return { result, instances, added, replicas: instances.filter((p) => !before.has(p.instanceId)), categories, servers };
}

/** What the replica rule plans with ({@link planPlacement}): its costs and cap, and the step that keeps the latency services' devices. */
export type ReplicaPolicy = Pick<ReplicaContext, 'costRatio' | 'maxShare'> & {
  /**
   * `'core'`: what core's `placeServices` places (with {@link coverEveryService} and {@link nearDemand}, which move
   * no instance off a device it shares), none of the demo's own host rules; the other fields are then ignored.
   * `'replicas'`: the earlier versions' host rules after it ({@link localReplicas} and the steps below).
   * @default 'replicas'
   */
  readonly hostRules?: 'core' | 'replicas';
  /** Move stream instances off the latency services' devices afterwards ({@link keepLatencyDevices}), priced as the replica rule. @default false */
  readonly keepLatencyDevices?: boolean;
  /**
   * Move stream instances off the latency services' devices afterwards as far as the devices taking them have room
   * at their measured device time ({@link keepLatencyDevices} with these prices: `--plan-costs device-time`). The
   * replica rule itself keeps `costRatio` and `maxShare` above.
   */
  readonly deviceTime?: Pick<ReplicaContext, 'handoffMs' | 'costRatio' | 'maxShare'>;
  /**
   * Last, drop stream replicas while the measured device time falls and every device stays within the cap
   * ({@link consolidateStreams}: fewer, larger packs; `--plan-costs consolidate`).
   */
  readonly consolidate?: Pick<ReplicaContext, 'handoffMs' | 'costRatio' | 'maxShare'>;
};

/**
 * Host policy of the demo: a service the greedy left without an instance (its goodput per resource ranked
 * last when devices ran out) still gets one, multi-tasked on the server with the fewest instances, so that its
 * requests are served late rather than refused with `NO_INSTANCE`.
 */
function coverEveryService(placed: readonly PlacedInstance[], specs: readonly ServiceSpec[], plans: Readonly<Record<string, readonly ParallelPlan[]>>, ids: readonly string[]): PlacedInstance[] {
  const added: PlacedInstance[] = [];
  const count = (id: string): number => [...placed, ...added].filter((p) => p.serverId === id).length;
  for (const s of specs) {
    const plan = plans[s.id]?.[0];
    if (!plan || placed.some((p) => p.serviceId === s.id)) continue;
    const serverId = [...ids].sort((a, b) => count(a) - count(b) || a.localeCompare(b))[0]!;
    added.push({ instanceId: `${s.id}/${serverId}/cover`, serviceId: s.id, plan, serverId, deviceIds: [deviceOf().id] });
  }
  return added;
}

/**
 * The services of `specs` that `instances` leave without an instance. Core's allocation finds no plan for a service
 * whose profile, scaled by a loaded host's measured speed, cannot meet its SLO even alone, and
 * {@link coverEveryService} has then no plan to cover it with: such a placement would refuse all its items
 * `NO_INSTANCE` where a slow instance serves some.
 */
export function uncoveredServices(instances: readonly PlacedInstance[], specs: readonly ServiceSpec[]): string[] {
  return specs.filter((s) => !instances.some((p) => p.serviceId === s.id)).map((s) => s.id);
}

/** Bytes of one item's input per service: what a request or frame served away from its entry sends over a link. */
export const ITEM_BYTES: Readonly<Record<DemoServiceId, number>> = { image: 3 * 160 * 160 * 4, video: 3 * 96 * 96 * 4, chat: 100, loop: 16 * 16, vad: 512 * 4 + 2 * 128 * 4 };

/** What {@link nearDemand} needs to price an item served away from where it entered. */
export interface NearDemandContext {
  readonly specs: readonly ServiceSpec[];
  readonly workload: Workload;
  readonly ids: readonly string[];
  /** Measured one-way delay between nodes, ms (`delaysMs[i][j]`). */
  readonly delaysMs: readonly (readonly number[])[];
  /** Link bandwidth, bytes per ms. */
  readonly bytesPerMs: number;
}

/**
 * Host policy of the demo: every server has the same single device, so exchanging the whole contents of two
 * servers changes neither capacity nor feasibility — only where the instances sit relative to where the demand
 * enters. Among all such permutations (exhaustive up to 7 servers, else the identity) it keeps the one whose
 * items cross the least network time per second: what enters a server beyond its local capacity for the
 * service goes where the mesh sends it ({@link servedFrom}: a stream to the nearest other host, requests spread
 * over them), each item paying that link's round trip and its transfer (`2 × delay + item bytes / bandwidth`).
 * Core's locality objective alone does not tell these placements apart when every delay fits the SLOs. Priced
 * at each pair's own delay, a service with one instance for demand entering everywhere goes to the server
 * nearest all entries: at one end of a 6 ms – 6 ms line of three servers its far entry's items pay a 42 ms
 * round trip of their 100 ms staleness budget, at the middle 12 ms (priced at the mean delay, every server
 * scored the same and the first placement stayed).
 */
export function nearDemand(instances: readonly PlacedInstance[], c: NearDemandContext): PlacedInstance[] {
  const { ids } = c;
  const remoteMs = (perm: readonly number[]): number => {
    let sum = 0;
    for (const spec of c.specs) {
      const id = spec.id as DemoServiceId;
      const capAt = ids.map(() => 0);
      for (const p of instances) if (p.serviceId === id) capAt[perm.indexOf(ids.indexOf(p.serverId))]! += p.capacityPerSec ?? p.plan.capacityPerSec;
      const hosts = ids.flatMap((_, i) => (capAt[i]! > 0 ? [i] : []));
      ids.forEach((_, at) => {
        const remote = Math.max(0, (c.workload.demand[id]?.[at] ?? 0) - capAt[at]!);
        const others = hosts.filter((h) => h !== at);
        if (remote <= 0 || others.length === 0) return;
        for (const [h, part] of servedFrom(spec, at, others, c)) sum += remote * part * (2 * (c.delaysMs[at]?.[h] ?? 0) + (ITEM_BYTES[id] ?? 0) / c.bytesPerMs);
      });
    }
    return sum;
  };
  let best = ids.map((_, i) => i);
  if (ids.length <= 7) {
    let bestMs = remoteMs(best);
    for (const perm of permutations(ids.length)) {
      // perm[i]: the server whose instances move to server i.
      const ms = remoteMs(perm);
      if (ms < bestMs - 1e-6) {
        bestMs = ms;
        best = perm;
      }
    }
  }
  const target = new Map(best.map((from, to) => [ids[from]!, ids[to]!]));
  return instances.map((p) => {
    const serverId = target.get(p.serverId) ?? p.serverId;
    return serverId === p.serverId ? p : { ...p, serverId, instanceId: p.instanceId.split(p.serverId).join(serverId) };
  });
}

function permutations(n: number): number[][] {
  if (n <= 1) return [[0].slice(0, n)];
  const out: number[][] = [];
  for (const rest of permutations(n - 1)) for (let k = 0; k <= rest.length; k++) out.push([...rest.slice(0, k), n - 1, ...rest.slice(k)]);
  return out;
}
