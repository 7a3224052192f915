import { invalidOption } from '../errors/epara-error.js';
import type { ServerId, ServiceId } from '../model/device.js';
import type { ClusterView, InstanceInfo } from '../view/server-entry.js';
import { resolveRouteOptions, sendMs, type NetworkModel, type RouteOptions } from './route-options.js';
import { assertRoutingContext, entriesOf, nextHop, type NextHop } from './routing-common.js';

/** A stream asking to be admitted. */
export interface StreamRequest {
  readonly serviceId: ServiceId;
  /** Items/s the stream will push. */
  readonly rateHz: number;
  /** Staleness limit of its items, ms; when given, a peer's round trip plus run time must fit it. */
  readonly stalenessMs?: number;
  /** Bytes of one frame (for the transfer time to a peer). @default 0 */
  readonly frameBytes?: number;
  /** @default 0 */
  readonly hops?: number;
  /** @default [] */
  readonly visited?: readonly ServerId[];
}

/** Input of {@link admitStream}. */
export interface AdmitStreamInput {
  readonly stream: StreamRequest;
  /** This server's instances, exact (`LocalExecutor.instances()`); empty when none. */
  readonly localInstances: readonly InstanceInfo[];
  readonly view: ClusterView;
  readonly self: ServerId;
  readonly now: number;
  readonly network?: NetworkModel;
  /**
   * Bytes/s this server's link can still carry to peers for the streams it sends there (its link rate less the
   * streams already pinned to peers). When given, a peer is a candidate only if the stream's `frameBytes × rateHz`
   * fits: a stream pinned to a peer sends every frame through this server's link, and frames queued behind a
   * full link reach the peer too late to be served.
   */
  readonly egressSpareBytesPerSec?: number;
  /**
   * Price each instance with room at what its frames would wait behind the **other services' work on its server**
   * plus, for a peer, the frame's round trip: the stream goes where that is least, this server on a tie. The wait
   * is the residual of the batch in progress when a frame arrives, `Σ ρ × T / 2` over the server's other ready
   * instances (`ρ = loadPerSec / capacityPerSec`, `T = 1000 × batchSize / capacityPerSec` ms: the batch time at
   * the capacity the server reports). Only where the stream enters (`hops` 0): a peer that accepts a forwarded
   * stream runs it when it has room. Without it (the default) a local instance with room always wins, then the
   * peer with the lowest round trip — so a server where images enter also serves every stream entering there,
   * each frame waiting behind its image batches and taking device time from them.
   * @default false
   */
  readonly priceWaitBehind?: boolean;
  readonly options?: Partial<RouteOptions>;
}

/** A peer instance with room for the stream. */
export interface StreamCandidate {
  readonly serverId: ServerId;
  readonly instanceId: string;
  /** Spare rate reported by the peer, items/s. */
  readonly spareRatePerSec: number;
  /** Round trip of one frame and its result, ms. */
  readonly roundTripMs: number;
  /** With {@link AdmitStreamInput.priceWaitBehind}: a frame's expected wait behind the peer's other work, ms. */
  readonly waitBehindMs?: number;
}

/** Where to pin a stream. */
export type StreamDecision =
  | { readonly action: 'local'; readonly instanceId: string; readonly spareRatePerSec: number }
  | { readonly action: 'forward'; readonly serverId: ServerId; readonly instanceId: string; readonly candidates: readonly StreamCandidate[]; readonly next: NextHop }
  | { readonly action: 'reject'; readonly code: 'DEADLINE_INFEASIBLE' | 'NO_INSTANCE' | 'OVERLOADED' | 'HOP_LIMIT'; readonly reason: string };

/**
 * Stream admission (docs/concepts.md): a stream is admitted once, against spare rate capacity, and pinned to one
 * instance. An instance has room when `capacityPerSec − loadPerSec ≥ rateHz + spareMarginFraction ×
 * capacityPerSec`. Local ready instances are checked first with exact state (the one with the most spare rate
 * wins); then, unless the hop limit is reached, peers under the same rules as {@link routeRequest} (alive,
 * fresh, not self, not visited, `ready`), whose frame round trip plus run time fits `stalenessMs` when given;
 * the lowest round trip wins, ties to more spare rate, then server id. Reject codes as for requests, with
 * `OVERLOADED` meaning instances exist but none has spare rate, or (with `egressSpareBytesPerSec`) the peers that have
 * it cannot be reached: this server's link has no room left for the stream's frames.
 *
 * @throws EparaError `INVALID_OPTIONS` for a malformed stream, instance list, view, time or option.
 */
export function admitStream(input: AdmitStreamInput): StreamDecision {
  const { stream, view, self, now, network } = input;
  const o = resolveRouteOptions(input.options);
  assertRoutingContext(view, self, now);
  assertStream(stream);
  if (!Array.isArray(input.localInstances)) invalidOption('localInstances', input.localInstances, 'an array of InstanceInfo');
  let local: InstanceInfo | undefined;
  let anyInstance = false;
  for (const inst of input.localInstances) {
    if (inst.serviceId !== stream.serviceId || inst.status !== 'ready') continue;
    anyInstance = true;
    if (hasRoom(inst, stream.rateHz, o) && (local === undefined || spare(inst) > spare(local))) local = inst;
  }
  const hops = stream.hops ?? 0;
  const priced = input.priceWaitBehind === true && hops === 0;
  if (local !== undefined && (!priced || hops >= o.hopLimit)) return { action: 'local', instanceId: local.instanceId, spareRatePerSec: spare(local) };
  const visited = stream.visited ?? [];
  const candidates: StreamCandidate[] = [];
  let roomButFar = false;
  const egress = input.egressSpareBytesPerSec;
  if (egress !== undefined && !(typeof egress === 'number' && !Number.isNaN(egress))) invalidOption('egressSpareBytesPerSec', egress, 'a number');
  const linkFull = egress !== undefined && (stream.frameBytes ?? 0) * stream.rateHz > egress;
  let roomButLinkFull = false;
  for (const entry of entriesOf(view)) {
    if (!entry.alive || now - entry.updatedAt > o.maxEntryAgeMs || entry.serverId === self) continue;
    for (const inst of entry.instances) {
      if (inst.serviceId !== stream.serviceId || inst.status !== 'ready') continue;
      anyInstance = true;
      if (visited.includes(entry.serverId) || !hasRoom(inst, stream.rateHz, o)) continue;
      if (linkFull) {
        roomButLinkFull = true;
        continue;
      }
      const roundTripMs = sendMs(network, entry.serverId, stream.frameBytes ?? 0, o) + sendMs(network, entry.serverId, 0, o);
      if (stream.stalenessMs !== undefined && roundTripMs + inst.runMs > stream.stalenessMs - o.guardMs) {
        roomButFar = true;
        continue;
      }
      candidates.push({ serverId: entry.serverId, instanceId: inst.instanceId, spareRatePerSec: spare(inst), roundTripMs, ...(priced ? { waitBehindMs: waitBehindMs(entry.instances, stream.serviceId) } : {}) });
    }
  }
  const cost = (x: StreamCandidate): number => x.roundTripMs + (x.waitBehindMs ?? 0);
  candidates.sort((a, b) => cost(a) - cost(b) || b.spareRatePerSec - a.spareRatePerSec || (a.serverId < b.serverId ? -1 : 1));
  const best = candidates[0];
  if (local !== undefined) {
    // Priced: the stream stays here unless a peer's round trip and wait cost its frames less than the wait here.
    if (best === undefined || !(cost(best) < waitBehindMs(input.localInstances, stream.serviceId))) return { action: 'local', instanceId: local.instanceId, spareRatePerSec: spare(local) };
    return { action: 'forward', serverId: best.serverId, instanceId: best.instanceId, candidates: candidates.slice(0, o.maxCandidates), next: nextHop(hops, visited, self) };
  }
  if (best !== undefined && hops < o.hopLimit) {
    return { action: 'forward', serverId: best.serverId, instanceId: best.instanceId, candidates: candidates.slice(0, o.maxCandidates), next: nextHop(hops, visited, self) };
  }
  if (best !== undefined) return { action: 'reject', code: 'HOP_LIMIT', reason: `no local room; ${hops} hops taken, limit ${o.hopLimit}` };
  if (!anyInstance) return { action: 'reject', code: 'NO_INSTANCE', reason: `no ready instance of ${stream.serviceId} here or in the view` };
  if (roomButLinkFull) return { action: 'reject', code: 'OVERLOADED', reason: `peers have room but this server's link has no ${(stream.frameBytes ?? 0) * stream.rateHz} bytes/s spare for the stream` };
  if (roomButFar) return { action: 'reject', code: 'DEADLINE_INFEASIBLE', reason: `instances with room are too far for staleness ${stream.stalenessMs} ms` };
  return { action: 'reject', code: 'OVERLOADED', reason: `no instance of ${stream.serviceId} has ${stream.rateHz}/s spare` };
}

/**
 * A frame's expected wait behind the work of the other services' ready instances on one server, ms: the residual of
 * the batch in progress, `Σ ρ × T / 2` ({@link AdmitStreamInput.priceWaitBehind}). An instance reporting no capacity
 * adds nothing.
 */
function waitBehindMs(instances: readonly InstanceInfo[], serviceId: string): number {
  let ms = 0;
  for (const i of instances) {
    if (i.serviceId === serviceId || i.status !== 'ready' || !(i.capacityPerSec > 0)) continue;
    const rho = Math.min(1, Math.max(0, i.loadPerSec) / i.capacityPerSec);
    ms += (rho * ((1000 * Math.max(1, i.batchSize)) / i.capacityPerSec)) / 2;
  }
  return ms;
}

function spare(inst: InstanceInfo): number {
  return inst.capacityPerSec - inst.loadPerSec;
}

function hasRoom(inst: InstanceInfo, rateHz: number, o: RouteOptions): boolean {
  return spare(inst) >= rateHz + o.spareMarginFraction * inst.capacityPerSec;
}

function assertStream(s: StreamRequest): void {
  if (typeof s !== 'object' || s === null) invalidOption('stream', s, 'an object');
  if (typeof s.serviceId !== 'string' || s.serviceId === '') invalidOption('stream.serviceId', s.serviceId, 'a non-empty string');
  if (!(typeof s.rateHz === 'number' && s.rateHz > 0 && Number.isFinite(s.rateHz))) invalidOption('stream.rateHz', s.rateHz, 'a positive finite number');
  if (s.stalenessMs !== undefined && !(typeof s.stalenessMs === 'number' && s.stalenessMs > 0)) invalidOption('stream.stalenessMs', s.stalenessMs, 'a positive number');
  if (s.frameBytes !== undefined && !(typeof s.frameBytes === 'number' && s.frameBytes >= 0)) invalidOption('stream.frameBytes', s.frameBytes, 'a number >= 0');
  if (s.hops !== undefined && !(Number.isInteger(s.hops) && s.hops >= 0)) invalidOption('stream.hops', s.hops, 'an integer >= 0');
  if (s.visited !== undefined && !Array.isArray(s.visited)) invalidOption('stream.visited', s.visited, 'an array of server ids');
}
