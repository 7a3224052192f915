import { latencyAt, type PlacedInstance, type ServiceSpec } from '@epara/core';
import type { DemoServiceId } from './catalog.js';
import { deviceTime, type DeviceLoad } from './device-time.js';
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
  /**
   * Per service, what one item really costs a device on this host ÷ the profile (measured: `measuredCosts` in
   * item-costs.ts); every device time the rule predicts is scaled by it. A service missing here costs its profile.
   * @default the profiles (1 for every service)
   */
  readonly costRatio?: Readonly<Record<string, number>>;
  /**
   * Device time every batch holds beyond its run on this host (measured: `measureDeviceTime` in device-time.ts).
   * Given, a device's share is its measured device time ({@link deviceShares}): each batch pays it, and stream
   * frames are priced at the packs the device would run them in. @default not priced (the item's run time alone)
   */
  readonly handoffMs?: number;
}

/**
 * The share of its time each server's device would spend on the demand `out` serves there
 * ({@link servedFrom}). Without {@link ReplicaContext.handoffMs}: the items/s × one item's run time alone (× its
 * cost ratio). With it: the device time {@link deviceTime} prices — every batch pays the hand-off, a request
 * service runs at its plan's batch, a stream service in the packs that form behind the device's other work — so
 * that a stream replica serving one or two streams beside images is priced at a hand-off per frame, and a device
 * that serves many streams at the packs that share it.
 */
export function deviceShares(out: readonly PlacedInstance[], c: ReplicaContext): number[] {
  const loads: DeviceLoad[][] = c.ids.map(() => []);
  for (const s of c.specs) {
    const hosts = [...new Set(out.filter((p) => p.serviceId === s.id).map((p) => c.ids.indexOf(p.serverId)))];
    if (hosts.length === 0) continue;
    const perSec = c.ids.map(() => 0);
    c.ids.forEach((_, node) => {
      const d = c.workload.demand[s.id as DemoServiceId]?.[node] ?? 0;
      for (const [at, part] of servedFrom(s, node, hosts, c)) perSec[at]! += d * part;
    });
    perSec.forEach((r, at) => {
      const batch = out.find((p) => p.serviceId === s.id && p.serverId === c.ids[at])?.plan.batchSize ?? 1;
      if (r > 0) loads[at]!.push({ spec: s, perSec: r, batch });
    });
  }
  if (c.handoffMs === undefined) return loads.map((ls) => ls.reduce((a, l) => a + (l.perSec * batchMs(l.spec, 1, c)) / 1000, 0));
  const pricing = { handoffMs: c.handoffMs, ...(c.costRatio ? { costRatio: c.costRatio } : {}) };
  return loads.map((ls) => deviceTime(ls, pricing).share);
}

/** Device time of a batch of `b` items of `spec`, ms: the profile's, × the measured cost ratio when given. */
function batchMs(spec: ServiceSpec, b: number, c: Pick<ReplicaContext, 'costRatio'>): number {
  return latencyAt(Object.values(spec.profiles)[0]!, b) * (c.costRatio?.[spec.id] ?? 1);
}

/**
 * Host policy of the demo: serve demand where it enters. Core's placement covers each service's demand with
 * as few instances as the goodput objective needs; with one device per server that leaves most requests and
 * stream frames entering at a server without an instance, each paying a round trip over a link (and, on a
 * small machine, the CPU of copying it through the delaying proxy) for no gain in capacity. This adds a
 * replica of a service (its first instance's plan) on a server where its demand enters and none runs, most
 * network time saved first (`entering items/s × (2 × delay to the nearest instance + item bytes / bandwidth)`),
 * as long as every device stays within `maxShare` of its time — the demand each device would then serve
 * (what enters where it hosts the service, plus its part of what enters where no instance runs, {@link servedFrom}) × the
 * measured time of one item alone (× its measured cost ratio on this host when {@link ReplicaContext.costRatio}
 * gives one) — and its memory holds the weights, and **never on the server whose device
 * that would make the busiest device busier**: serving demand where it enters saves a link's round trip, but on the server
 * that already carries the most (the one where most images enter) it stacks stream frames behind that
 * server's work; a 5 ms link costs a 100 ms staleness budget little. Measured at the baseline's knee on a
 * quiet machine (21% of capacity): video streams entering the image-heavy server kept 60–77% of their frames
 * fresh on a local replica, 92.8% on replicas one link away. Then the busiest device sheds the stream services
 * that other servers now host when that pays for their frames ({@link relieveBusiest}), and a stream service left
 * with one host beside a latency service gets an overflow host ({@link overflowHosts}).
 */
export function localReplicas(instances: readonly PlacedInstance[], c: ReplicaContext): PlacedInstance[] {
  const maxShare = c.maxShare ?? MAX_DEVICE_SHARE;
  const out = [...instances];
  const hosts = (serviceId: string): Set<number> => new Set(out.filter((p) => p.serviceId === serviceId).map((p) => c.ids.indexOf(p.serverId)));
  const demandAt = (serviceId: string, node: number): number => c.workload.demand[serviceId as DemoServiceId]?.[node] ?? 0;
  const shares = (): number[] => deviceShares(out, c);
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
  const relieved = relieveBusiest(out, c, maxShare, shares);
  overflowHosts(relieved, c, maxShare, shares, memory);
  return relieved;
}

/**
 * The last step of the rule: a **stream** service whose one host also runs a latency-sensitive service gets a
 * second host, an **overflow host**. A stream is admitted once, whole, against its instances' spare rate
 * ({@link servedFrom}), and a host's spare rate is its device's time net of what else runs there: beside images
 * little is left. Once it is gone every further stream is refused `OVERLOADED` — all its frames lost, though another
 * device had time for them — where a refused request is one item and the next is routed again. With a second host
 * those streams are pinned one link away instead. The overflow host's admission prices its own device net of what
 * runs there, so a busy one admits fewer streams rather than take on frames it cannot serve. It goes, memory and
 * the share cap allowing, preferably to a server that runs no latency-sensitive service (netted of images, its spare
 * rate would be short for the same reason as the first host's), then to the server whose busiest device stays least
 * busy, ties to the one nearest the host. It is exempt from the guard that keeps the busiest device from getting
 * busier: that guard protects what is already served, and a refused stream had nothing served. It runs after the
 * replicas where demand enters, so that the host's neighbours are known (the image replica beside video in run 5
 * below came from that step). Counted in an earlier version's quiet runs of the edge world: EPARA's
 * one video instance, beside images, refused 38–78 % of the video frames of every trial at admission, while the
 * baseline, with video on every site, served 97.8–100 %.
 */
function overflowHosts(out: PlacedInstance[], c: ReplicaContext, maxShare: number, shares: () => number[], memory: (node: number) => number): void {
  const sensitivity = new Map(c.specs.map((s) => [s.id, s.sensitivity]));
  const servesRequests = (node: number): boolean => out.some((p) => p.serverId === c.ids[node] && sensitivity.get(p.serviceId) === 'latency');
  for (const s of c.specs) {
    const placed = out.filter((p) => p.serviceId === s.id);
    const demand = (c.workload.demand[s.id as DemoServiceId] ?? []).reduce((a, d) => a + d, 0);
    if (s.sensitivity !== 'frequency' || placed.length !== 1 || !(demand > 0)) continue;
    const template = placed[0]!;
    const host = c.ids.indexOf(template.serverId);
    // Alone or beside other streams its host keeps room (the packs amortize a frame's cost); beside a latency
    // service, admission nets that service's work out of the device and refuses the streams.
    if (!servesRequests(host)) continue;
    const hop = (node: number): number => c.delaysMs[host]?.[node] ?? 0;
    let best: { node: number; key: [number, number, number] } | undefined;
    c.ids.forEach((serverId, node) => {
      if (node === host || memory(node) + template.plan.memoryPerDeviceBytes > c.deviceMemoryBytes) return;
      out.push({ ...template, serverId, instanceId: `${s.id}/${serverId}/overflow` });
      const after = shares();
      out.pop();
      if (after[node]! > maxShare) return;
      // Fewer requests delayed first, then the least busy busiest device, then the shortest hop from the host.
      const key: [number, number, number] = [servesRequests(node) ? 1 : 0, Math.max(...after), hop(node)];
      const better = best === undefined || key[0] < best.key[0] || (key[0] === best.key[0] && (key[1] < best.key[1] - 1e-9 || (Math.abs(key[1] - best.key[1]) <= 1e-9 && key[2] < best.key[2])));
      if (better) best = { node, key };
    });
    if (best !== undefined) out.push({ ...template, serverId: c.ids[best.node]!, instanceId: `${s.id}/${c.ids[best.node]!}/overflow` });
  }
}

/**
 * The other half of the rule: the busiest device also sheds the **stream** services it hosts when other
 * servers host them too, as long as that makes it less busy, leaves no device busier than it was, and **pays
 * for the streams' frames** ({@link reliefPays}). Core's placement and {@link nearDemand} move whole servers,
 * so the server where most images enter keeps whatever core packed next to them, and a stream is pinned where
 * it is admitted for its whole life (a request is routed one by one and leaves a busy server on its own).
 * Never a service's last instance.
 */
function relieveBusiest(out: PlacedInstance[], c: ReplicaContext, maxShare: number, shares: () => number[]): PlacedInstance[] {
  const streams = new Set(c.specs.filter((s) => s.sensitivity === 'frequency').map((s) => s.id));
  const initial = shares();
  const top = Math.max(...initial);
  const busiest = c.ids[initial.indexOf(top)]!;
  for (;;) {
    const before = shares();
    let best: { at: number; left: number } | undefined;
    for (const [at, p] of out.entries()) {
      if (p.serverId !== busiest || !streams.has(p.serviceId) || !out.some((q) => q !== p && q.serviceId === p.serviceId)) continue;
      if (!reliefPays(out, p, c)) continue;
      out.splice(at, 1);
      const after = shares();
      out.splice(at, 0, p);
      // The devices taking its streams stay within the cap (or no busier than before), none above the old maximum.
      const fits = after.every((v, i) => v <= Math.max(maxShare, before[i]!) && v <= top * (1 + 1e-9));
      const left = after[c.ids.indexOf(busiest)]!;
      if (fits && (best === undefined || left < best.left)) best = { at, left };
    }
    if (best === undefined) return out;
    out.splice(best.at, 1);
  }
}

/**
 * Whether moving stream service `p` off its server pays for the streams' frames. On their server, frames wait
 * behind the other services' work: under the device scheduler's earliest-deadline order they go first but never
 * interrupt a batch already running, so on average a frame waits the residual of the batch in progress,
 * `Σ ρ × L(b) / 2` over the co-located instances (`ρ`: the share of the device that instance's demand takes at
 * its plan's batch `b`, `L(b)` that batch's run time, both × the measured cost ratio when given). Moved, every frame pays the round trip to the nearest other
 * server hosting the service instead — and still crosses its entry's host, which relays it. The move pays only
 * when the wait saved exceeds that round trip. Measured on a quiet machine before this test: loop and VAD streams
 * moved off the image server kept 40–50% of their frames fresh one to two links away, against 62–68% in the
 * version that kept them there.
 */
export function reliefPays(out: readonly PlacedInstance[], p: PlacedInstance, c: ReplicaContext): boolean {
  const here = c.ids.indexOf(p.serverId);
  const elsewhere = out.filter((q) => q.serviceId === p.serviceId && q.serverId !== p.serverId).map((q) => c.ids.indexOf(q.serverId));
  if (elsewhere.length === 0) return false;
  const roundTripMs = 2 * Math.min(...elsewhere.map((j) => c.delaysMs[here]?.[j] ?? 0));
  let waitMs = 0;
  for (const q of out) {
    if (q.serverId !== p.serverId || q.serviceId === p.serviceId) continue;
    const spec = c.specs.find((s) => s.id === q.serviceId);
    if (spec === undefined) continue;
    const b = Math.max(1, q.plan.batchSize);
    const runMs = batchMs(spec, b, c);
    const rho = Math.min(1, (servedPerSec(out, q.serviceId, here, c) * runMs) / b / 1000);
    waitMs += (rho * runMs) / 2;
  }
  return waitMs > roundTripMs;
}

/** Items/s an instance on `node` serves: what enters there, plus its part of what enters where none runs ({@link servedFrom}). */
function servedPerSec(out: readonly PlacedInstance[], serviceId: string, node: number, c: ReplicaContext): number {
  const spec = c.specs.find((s) => s.id === serviceId);
  const hosts = [...new Set(out.filter((q) => q.serviceId === serviceId).map((q) => c.ids.indexOf(q.serverId)))];
  const demand = c.workload.demand[serviceId as DemoServiceId] ?? [];
  if (spec === undefined) return demand[node] ?? 0;
  let perSec = 0;
  c.ids.forEach((_, i) => {
    for (const [at, part] of servedFrom(spec, i, hosts, c)) if (at === node) perSec += (demand[i] ?? 0) * part;
  });
  return perSec;
}

/**
 * Where the items of service `s` entering `node` are served, as `[host, part]` pairs, the way the mesh serves
 * them: at `node` when it hosts the service; otherwise a request goes to whichever host promises the earliest
 * completion, one by one (an even share over the hosts stands for that), while a **stream** is admitted once at
 * the nearest host with spare rate (core's `admitStream`: lowest round trip first) — and by the profiles every
 * host has room, so the nearest takes them all. With an even share the policy predicted the streams entering
 * the image server split between its two neighbours; the mesh put all of them on the nearer one, whose device
 * became the busiest of the three (an earlier quiet run: 9,584 frames and 585 images there against
 * 6,069 frames on the other).
 */
export function servedFrom(s: ServiceSpec, node: number, hosts: readonly number[], c: Pick<ReplicaContext, 'delaysMs'>): [number, number][] {
  if (hosts.includes(node)) return [[node, 1]];
  if (s.sensitivity !== 'frequency') return hosts.map((h) => [h, 1 / hosts.length]);
  const delay = (h: number): number => c.delaysMs[node]?.[h] ?? 0;
  const closest = Math.min(...hosts.map(delay));
  // Hosts as near as the nearest (within a measurement's noise) share the streams: admission breaks round-trip
  // ties by spare rate, which alternates them as streams are pinned.
  const nearest = hosts.filter((h) => delay(h) <= closest + SAME_DELAY_MS);
  return nearest.map((h) => [h, 1 / nearest.length]);
}

/** One-way delays this close are the same link length (measured delays of equal links differ by ~0.3 ms). */
const SAME_DELAY_MS = 1;
