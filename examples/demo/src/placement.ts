import { allocate, deviceKindsOf, placeServices } from '@epara/core';
import type { Category, DeviceSpec, ParallelPlan, PlacedInstance, PlacementResult, ServerSpec, ServiceDemand, ServiceSpec } from '@epara/core';
import type { DemoServiceId } from './catalog.js';
import { DEVICE_KIND } from './profiles.js';
import type { Workload } from './workload.js';

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
    const streams = workload.streams.filter((x) => x.serviceId === id).map((x) => ({ accessServer: ids[x.node]!, rateHz: x.rateHz }));
    return { serviceId: s.id, ratePerServer: {}, streams };
  });
}

/** The initial EPARA placement: core's `allocate` per service, then `placeServices` over the servers. */
export interface InitialPlacement {
  readonly result: PlacementResult;
  /** What is loaded: the placement's instances plus {@link InitialPlacement.added}. */
  readonly instances: readonly PlacedInstance[];
  /** Instances the demo added for services the greedy left without one (see {@link planPlacement}). */
  readonly added: readonly PlacedInstance[];
  readonly categories: Readonly<Record<string, Category>>;
  readonly servers: readonly ServerSpec[];
}

/** Computes the initial placement from the workload's average demand (the forecast a host would have). */
export function planPlacement(specs: readonly ServiceSpec[], workload: Workload, nodes: number): InitialPlacement {
  const ids = nodeIds(nodes);
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
  const result = placeServices({ servers, services: specs, plans, demand });
  const added = coverEveryService(result.instances, specs, plans, ids);
  return { result, instances: [...result.instances, ...added], added, categories, servers };
}

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
