import { latencyAt, type PlacedInstance, type ServiceSpec } from '@epara/core';
import type { DemoServiceId } from './catalog.js';
import type { Workload } from './workload.js';

/** Largest share of a device's time the demand it would serve may take after a replica is added. */
export const MAX_DEVICE_SHARE = 0.6;

/** What {@link localReplicas} needs besides the instances. */
export interface ReplicaContext {
  readonly specs: readonly ServiceSpec[];
  readonly workload: Workload;
  readonly ids: readonly string[];
  /** Measured one-way delay between nodes, ms (`delaysMs[i][j]`). */
  readonly delaysMs: readonly (readonly number[])[];
  /** Link bandwidth, bytes per ms. */
  readonly bytesPerMs: number;
  /** Bytes of one item's input per service (what crossing a link costs). */
  readonly itemBytes: Readonly<Record<DemoServiceId, number>>;
  /** Memory of each server's one device, bytes. */
  readonly deviceMemoryBytes: number;
  /** Largest device share after an addition. @default {@link MAX_DEVICE_SHARE} */
  readonly maxShare?: number;
}

/**
 * Host policy of the demo: serve demand where it enters. Core's placement covers each service's demand with
 * as few instances as the goodput objective needs; with one device per server that leaves most requests and
 * stream frames entering at a server without an instance, each paying a round trip over a link (and, on a
 * small machine, the CPU of copying it through the delaying proxy) for no gain in capacity. This adds a
 * replica of a service (its first instance's plan) on a server where its demand enters and none runs, most
 * network time saved first (`entering items/s × (2 × delay to the nearest instance + item bytes / bandwidth)`),
 * as long as every device stays within `maxShare` of its time — the demand each device would then serve
 * (what enters where it hosts the service, plus an even share of what enters where no instance runs) × the
 * measured time of one item alone — and its memory holds the weights, and **never on the server whose device
 * that would make the busiest device busier**: serving demand where it enters saves a link's round trip, but on the server
 * that already carries the most (the one where most images enter) it stacks stream frames behind that
 * server's work; a 5 ms link costs a 100 ms staleness budget little. Measured at the baseline's knee on a
 * quiet machine (21% of capacity): video streams entering the image-heavy server kept 60–77% of their frames
 * fresh on a local replica, 92.8% on replicas one link away. Then the busiest device sheds the stream services
 * that other servers now host ({@link relieveBusiest}).
 */
export function localReplicas(instances: readonly PlacedInstance[], c: ReplicaContext): PlacedInstance[] {
  const maxShare = c.maxShare ?? MAX_DEVICE_SHARE;
  const out = [...instances];
  const hosts = (serviceId: string): Set<number> => new Set(out.filter((p) => p.serviceId === serviceId).map((p) => c.ids.indexOf(p.serverId)));
  const demandAt = (serviceId: string, node: number): number => c.workload.demand[serviceId as DemoServiceId]?.[node] ?? 0;
  const itemMs = new Map(c.specs.map((s) => [s.id, latencyAt(Object.values(s.profiles)[0]!, 1)]));
  const shares = (): number[] => {
    const share = c.ids.map(() => 0);
    for (const s of c.specs) {
      const h = [...hosts(s.id)];
      if (h.length === 0) continue;
      c.ids.forEach((_, node) => {
        const ms = (demandAt(s.id, node) * itemMs.get(s.id)!) / 1000;
        if (h.includes(node)) share[node]! += ms;
        else for (const at of h) share[at]! += ms / h.length;
      });
    }
    return share;
  };
  const memory = (node: number): number => out.filter((p) => p.serverId === c.ids[node]).reduce((a, p) => a + p.plan.memoryPerDeviceBytes, 0);
  const candidates: { serviceId: string; node: number; value: number }[] = [];
  for (const s of c.specs) {
    const h = [...hosts(s.id)];
    if (h.length === 0) continue;
    c.ids.forEach((_, node) => {
      if (h.includes(node) || demandAt(s.id, node) <= 0) return;
      const delay = Math.min(...h.map((at) => c.delaysMs[node]?.[at] ?? 0));
      candidates.push({ serviceId: s.id, node, value: demandAt(s.id, node) * (2 * delay + c.itemBytes[s.id as DemoServiceId] / c.bytesPerMs) });
    });
  }
  candidates.sort((a, b) => b.value - a.value || a.node - b.node);
  // Passes until nothing changes: a replica that relieves a device can make room for one refused before.
  for (let added = true; added; ) {
    added = false;
    for (const cand of [...candidates]) {
      const template = out.find((p) => p.serviceId === cand.serviceId)!;
      const serverId = c.ids[cand.node]!;
      const replica: PlacedInstance = { ...template, serverId, instanceId: `${cand.serviceId}/${serverId}/local` };
      if (memory(cand.node) + replica.plan.memoryPerDeviceBytes > c.deviceMemoryBytes) continue;
      const before = Math.max(...shares());
      out.push(replica);
      const after = shares();
      // The replica's device stays within the cap, and the busiest device is no busier than before: a replica
      // spreads work (or takes it off the busiest device), it never stacks more on the one that carries the most.
      if (after[cand.node]! > maxShare || Math.max(...after) > before * (1 + 1e-9)) {
        out.pop();
        continue;
      }
      candidates.splice(candidates.indexOf(cand), 1);
      added = true;
    }
  }
  return relieveBusiest(out, c, maxShare, shares);
}

/**
 * The other half of the rule: the busiest device also sheds the **stream** services it hosts when other
 * servers host them too, as long as that makes it less busy and leaves no device busier than it was. Core's
 * placement and {@link nearDemand} move whole servers, so the server where most images enter keeps whatever core
 * packed next to them (video at some loads, VAD at others), and the streams entering there were admitted on
 * that device. A stream is pinned where it is admitted for its whole life (a request is routed one by one and
 * leaves a busy server on its own), so a static choice is what decides where its frames wait. Measured before
 * this rule on a quiet machine at the baseline's knee: VAD streams admitted on the image server kept 68.3% of
 * their frames fresh, video 60–77%; video one 5 ms link away 92.8%. Never a service's last instance.
 */
function relieveBusiest(out: PlacedInstance[], c: ReplicaContext, maxShare: number, shares: () => number[]): PlacedInstance[] {
  const streams = new Set(c.specs.filter((s) => s.sensitivity === 'frequency').map((s) => s.id));
  const initial = shares();
  const top = Math.max(...initial);
  const busiest = c.ids[initial.indexOf(top)];
  for (;;) {
    const before = shares();
    let best: { at: number; left: number } | undefined;
    for (const [at, p] of out.entries()) {
      if (p.serverId !== busiest || !streams.has(p.serviceId) || !out.some((q) => q !== p && q.serviceId === p.serviceId)) continue;
      out.splice(at, 1);
      const after = shares();
      out.splice(at, 0, p);
      // The devices taking its streams stay within the cap (or no busier than before), none above the old maximum.
      const fits = after.every((v, i) => v <= Math.max(maxShare, before[i]!) && v <= top * (1 + 1e-9));
      const left = after[c.ids.indexOf(busiest!)]!;
      if (fits && (best === undefined || left < best.left)) best = { at, left };
    }
    if (best === undefined) return out;
    out.splice(best.at, 1);
  }
}
