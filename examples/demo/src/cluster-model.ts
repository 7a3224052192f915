import { latencyAt, type PlacedInstance, type ServiceSpec } from '@epara/core';
import type { DemoServiceId } from './catalog.js';
import { runDeviceModel, type ModelItem, type ModelLane } from './device-model.js';
import type { Workload } from './workload.js';

/*
 * A placement of the demo run on the virtual-time device model (device-model.ts): every item of a workload served
 * where the mesh would serve it — a request where it enters when that server hosts its service, else at one of the
 * hosts in turn over the link (paying the link both ways out of its deadline); a stream session where it enters
 * when hosted, else at the nearest host for its whole life — and each server's device run on its own. A pure
 * function of the placement, the workload and the device's costs; it leaves out routing by estimate, refusals and
 * the hosts' CPU, so it compares placements, not systems.
 */

/** How the modelled devices run. */
export interface ClusterModelCosts {
  /** Backend time ÷ profile per service (the host's slowdown). @default 1 */
  readonly costRatio?: Readonly<Record<string, number>>;
  /** Device time each batch holds beyond its run, ms. */
  readonly handoffMs: number;
  /** One-way delay between nodes, ms. */
  readonly delaysMs: readonly (readonly number[])[];
}

/** What each service got over the run. */
export type ClusterModelResult = Record<string, { offered: number; good: number }>;

/** Runs `workload` on `placement` (servers `ids`); per service the items offered and good. */
export function runClusterModel(specs: readonly ServiceSpec[], placement: readonly PlacedInstance[], workload: Workload, ids: readonly string[], c: ClusterModelCosts): ClusterModelResult {
  const lanes = new Map<string, ModelItem[]>(); // `${node}/${service}`
  const push = (node: number, service: string, item: ModelItem): void => {
    const key = `${node}/${service}`;
    (lanes.get(key) ?? lanes.set(key, []).get(key)!).push(item);
  };
  const hostsOf = (service: string): number[] => [...new Set(placement.filter((p) => p.serviceId === service).map((p) => ids.indexOf(p.serverId)))].sort((a, b) => a - b);
  const link = (a: number, b: number): number => (a === b ? 0 : (c.delaysMs[a]?.[b] ?? 0));
  const turn = new Map<string, number>();
  const lost: ClusterModelResult = {};
  const count = (service: string): { offered: number; good: number } => (lost[service] ??= { offered: 0, good: 0 });
  for (const r of workload.requests) {
    const spec = specs.find((s) => s.id === r.serviceId)!;
    const hosts = hostsOf(r.serviceId);
    if (hosts.length === 0) {
      count(r.serviceId).offered++;
      continue;
    }
    let at = r.node;
    if (!hosts.includes(at)) {
      const k = turn.get(r.serviceId) ?? 0;
      turn.set(r.serviceId, k + 1);
      at = hosts[k % hosts.length]!;
    }
    const d = link(r.node, at);
    const deadlineMs = spec.slo.kind === 'latency' ? spec.slo.deadlineMs : 0;
    push(at, r.serviceId, { at: r.atMs + d, deadline: r.atMs + deadlineMs - d });
  }
  workload.streams.forEach((s, i) => {
    const spec = specs.find((x) => x.id === s.serviceId)!;
    const hosts = hostsOf(s.serviceId);
    const period = 1000 / s.rateHz;
    if (hosts.length === 0) {
      count(s.serviceId).offered += s.frames;
      return;
    }
    const at = hosts.includes(s.node) ? s.node : hosts.reduce((best, h) => (link(s.node, h) < link(s.node, best) ? h : best));
    const d = link(s.node, at);
    const staleness = spec.slo.kind === 'frequency' ? spec.slo.stalenessMs : period;
    for (let f = 0; f < s.frames; f++) {
      const captured = s.startMs + f * period;
      push(at, s.serviceId, { at: captured + d, deadline: captured + staleness - d, stream: i });
    }
  });
  const out: ClusterModelResult = { ...lost };
  ids.forEach((_, node) => {
    const here: ModelLane[] = [];
    for (const s of specs) {
      const items = lanes.get(`${node}/${s.id}`);
      if (items === undefined) continue;
      const profile = Object.values(s.profiles)[0]!;
      const ratio = c.costRatio?.[s.id] ?? 1;
      const points = profile.points;
      here.push({
        id: s.id,
        latencyMs: (n) => latencyAt(profile, n) * ratio,
        maxBatch: points[points.length - 1]!.batch,
        stateful: (s as { readonly stateful?: unknown }).stateful !== undefined,
        streams: s.sensitivity === 'frequency' ? new Set(items.map((x) => x.stream)).size : 0,
        items,
      });
    }
    for (const [id, r] of Object.entries(runDeviceModel(here, { handoffMs: c.handoffMs }))) {
      const t = count(id);
      out[id] = { offered: t.offered + r.offered, good: t.good + r.good };
      lost[id] = out[id]!;
    }
  });
  return out;
}

/** Good ÷ offered over the services `ids` (all when omitted). */
export function attainmentOf(r: ClusterModelResult, ids?: readonly DemoServiceId[]): number {
  const rows = Object.entries(r).filter(([id]) => ids === undefined || ids.includes(id as DemoServiceId));
  const offered = rows.reduce((a, [, x]) => a + x.offered, 0);
  return offered === 0 ? 1 : rows.reduce((a, [, x]) => a + x.good, 0) / offered;
}
