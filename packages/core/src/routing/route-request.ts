import { invalidOption } from '../errors/epara-error.js';
import type { ServerId, ServiceId } from '../model/device.js';
import type { LocalEstimate } from '../ports/local-executor.js';
import type { ClusterView, InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { resolveRouteOptions, type NetworkModel, type RouteOptions } from './route-options.js';
import { assertRoutingContext, entriesOf, nextHop, type NextHop } from './routing-common.js';

/** A request as the handler sees it at this server. */
export interface RoutedRequest {
  readonly serviceId: ServiceId;
  /** Absolute deadline, ms on the shared clock. */
  readonly deadline: number;
  /** Forwards taken so far. @default 0 */
  readonly hops?: number;
  /** Servers that already handled it (never revisited). @default [] */
  readonly visited?: readonly ServerId[];
  /** Input bytes to send on a forward. @default 0 */
  readonly payloadBytes?: number;
  /** Result bytes to send back. @default 0 */
  readonly responseBytes?: number;
}

/** Input of {@link routeRequest}. */
export interface RouteRequestInput {
  readonly request: RoutedRequest;
  /** The local executor's exact estimate (`LocalExecutor.estimate`), `undefined` when not hosted here. */
  readonly local: LocalEstimate | undefined;
  readonly view: ClusterView;
  /** This server's id. */
  readonly self: ServerId;
  /** Current time, ms, same clock as the deadline and the view's `updatedAt`. */
  readonly now: number;
  readonly network?: NetworkModel;
  /**
   * Requests of this service that this server forwarded to each peer after the peer wrote its entry in `view`
   * and that are not answered yet: the peer's reported wait cannot include them. Each adds one item's time at the
   * peer instance's capacity (`1000 / capacityPerSec` ms) to the wait routing reads, so that a burst of forwards
   * decided on one entry does not all land on the one peer that entry made look best. @default none
   */
  readonly sentSinceReport?: Readonly<Record<ServerId, number>>;
  readonly options?: Partial<RouteOptions>;
}

/** A peer that could take the request, with its estimate. */
export interface RouteCandidate {
  readonly serverId: ServerId;
  readonly instanceId: string;
  /** Estimated completion (result back here when `includeReturnHop`), ms. */
  readonly estimateAt: number;
  /** The peer's reported wait after staleness inflation, plus what this server sent it since its report, ms. */
  readonly inflatedWaitMs: number;
  /** The peer's reported device load, 0..1 (tie-breaker). */
  readonly load: number;
}

/** What to do with a request. */
export type RouteDecision =
  | { readonly action: 'local'; readonly estimateAt: number }
  | { readonly action: 'forward'; readonly serverId: ServerId; readonly estimateAt: number; readonly candidates: readonly RouteCandidate[]; readonly next: NextHop }
  | { readonly action: 'reject'; readonly code: 'DEADLINE_INFEASIBLE' | 'NO_INSTANCE' | 'OVERLOADED' | 'HOP_LIMIT'; readonly reason: string };

/**
 * The distributed request handler's decision (docs/concepts.md). 1) Queue locally when the exact local estimate
 * lands by `deadline − guardMs`. 2) Otherwise, unless the hop limit is reached, estimate every peer that is
 * alive, fresh enough, not this server, not visited and hosts a `ready` instance of the service:
 * `now + one-way delay + payload transfer + inflated wait + run (+ return delay + response transfer)`, where
 * run is the instance's `nextRunMs` when reported (else its full batch's `runMs`) and
 * the reported wait is inflated by the entry's age (see {@link RouteOptions.stalenessFactor}) and lengthened by
 * the requests this server sent the peer since (see {@link RouteRequestInput.sentSinceReport}). 3) Forward to
 * the earliest estimate that meets the deadline (ties: lower load, then server id). 4) Otherwise reject:
 * `HOP_LIMIT` when hops are exhausted, `NO_INSTANCE` when no ready instance exists here or in the view,
 * `DEADLINE_INFEASIBLE` when even an idle instance could not finish in time, else `OVERLOADED`.
 *
 * Treat the view as an immutable value: the entry list is cached per `view.entries` object, so a changed view
 * must be a new object (as `mergeView`, `upsertEntry`, `markDead` and `applyDelta` return).
 *
 * @throws EparaError `INVALID_OPTIONS` for a malformed request, view, time or option.
 * @example
 * ```ts
 * const d = routeRequest({ request: { serviceId: 'seg', deadline: now + 80 }, local: executor.estimate('seg'),
 *   view, self: 'edge-1', now });
 * if (d.action === 'forward') send(d.serverId, { ...request, ...d.next });
 * ```
 */
export function routeRequest(input: RouteRequestInput): RouteDecision {
  const { request, local, view, self, now } = input;
  const o = resolveRouteOptions(input.options);
  assertRoutingContext(view, self, now);
  assertRequest(request);
  const latest = request.deadline - o.guardMs;
  if (local !== undefined && local.ready && local.completionAt <= latest) return { action: 'local', estimateAt: local.completionAt };
  const hops = request.hops ?? 0;
  const visited = request.visited ?? NO_VISITS;
  const scan = scanPeers(input, o, visited, latest);
  if (scan.candidates.length > 0 && hops < o.hopLimit) {
    const best = scan.candidates[0]!;
    return { action: 'forward', serverId: best.serverId, estimateAt: best.estimateAt, candidates: scan.candidates, next: nextHop(hops, visited, self) };
  }
  const localReady = local !== undefined && local.ready;
  const why = localReady ? `local estimate ${local.completionAt} misses ${latest}` : 'no ready local instance';
  if (scan.candidates.length > 0) return { action: 'reject', code: 'HOP_LIMIT', reason: `${why}; ${hops} hops taken, limit ${o.hopLimit}` };
  if (!localReady && !scan.anyInstance) return { action: 'reject', code: 'NO_INSTANCE', reason: `no ready instance of ${request.serviceId} here or in the view` };
  const selfRun = minRunMs(view.entries[self], request.serviceId);
  const idleLocalFits = localReady && (selfRun === undefined || now + selfRun <= latest);
  if (scan.idleFits || idleLocalFits) return { action: 'reject', code: 'OVERLOADED', reason: `${why}; no unvisited peer meets the deadline at its current wait` };
  return { action: 'reject', code: 'DEADLINE_INFEASIBLE', reason: `${why}; even an idle instance would finish after ${latest}` };
}

interface PeerScan {
  /** Feasible peers, best first, at most `maxCandidates`. */
  candidates: RouteCandidate[];
  /** Some alive peer (visited or not) hosts a ready instance. */
  anyInstance: boolean;
  /** Some unvisited peer would meet the deadline if it were idle. */
  idleFits: boolean;
}

const SCAN: PeerScan = { candidates: [], anyInstance: false, idleFits: false };
/**
 * The short list while a scan builds it: slots `0..shortCount−1`, cleared after each scan (it keeps no candidate
 * alive) but never emptied by `length`, which would drop its backing store. The decision gets an exact-size copy:
 * a fresh list grown by `push` was a 17-slot store per forwarding decision.
 */
const SHORT: (RouteCandidate | undefined)[] = [];
let shortCount = 0;
const NO_CANDIDATES: RouteCandidate[] = [];
/** A request without `visited` (read only: `nextHop` copies it). */
const NO_VISITS: readonly ServerId[] = [];

function scanPeers(input: RouteRequestInput, o: RouteOptions, visited: readonly ServerId[], latest: number): PeerScan {
  const { request, view, self, now, network, sentSinceReport } = input;
  // One reused record (decisions are synchronous and keep only the candidate list, which is new per scan).
  const scan = SCAN;
  scan.anyInstance = false;
  scan.idleFits = false;
  shortCount = 0;
  const serviceId = request.serviceId;
  const entries = entriesOf(view);
  // travelMs inlined with one delay and one bandwidth lookup per peer (same arithmetic as sendMs, twice).
  const delays = network?.delayMs;
  const bandwidths = network?.bandwidthBytesPerMs;
  const payloadBytes = request.payloadBytes ?? 0;
  const responseBytes = request.responseBytes ?? 0;
  const returnHop = o.includeReturnHop;
  for (let e = 0; e < entries.length; e++) {
    const entry = entries[e]!;
    const age = now - entry.updatedAt;
    if (!entry.alive || age > o.maxEntryAgeMs) continue;
    const instances = entry.instances;
    const peer = entry.serverId;
    // The peer's travel time, looked up once per entry on its first matching instance (−1: not yet).
    let travel = -1;
    for (let k = 0; k < instances.length; k++) {
      const inst = instances[k]!;
      if (inst.serviceId !== serviceId || inst.status !== 'ready') continue;
      scan.anyInstance = true;
      if (peer === self || (visited.length > 0 && visited.includes(peer))) continue;
      if (travel < 0) {
        const delay = delays?.[peer] ?? o.defaultDelayMs;
        const bw = bandwidths?.[peer] ?? o.defaultBandwidthBytesPerMs;
        const there = delay + payloadBytes / bw;
        travel = returnHop ? there + (delay + responseBytes / bw) : there;
      }
      const run = inst.nextRunMs ?? inst.runMs;
      if (now + travel + run <= latest) scan.idleFits = true;
      const sent = sentSinceReport?.[peer] ?? 0;
      const sentMs = sent > 0 && inst.capacityPerSec > 0 ? (sent * 1000) / inst.capacityPerSec : 0;
      const inflatedWaitMs = inflateWait(inst, Math.max(0, age), o) + sentMs;
      const estimateAt = now + travel + inflatedWaitMs + run;
      if (estimateAt <= latest && mayEnter(estimateAt, entry.load, peer, o.maxCandidates)) {
        insertCandidate({ serverId: peer, instanceId: inst.instanceId, estimateAt, inflatedWaitMs, load: entry.load }, o.maxCandidates);
      }
    }
  }
  scan.candidates = shortCount === 0 ? NO_CANDIDATES : takeShortList();
  return scan;
}

/** The short list as an exact-size array, its slots cleared (plain loops: `slice` and `fill` are builtin calls, dear for three slots). */
function takeShortList(): RouteCandidate[] {
  const n = shortCount;
  const out = new Array<RouteCandidate>(n);
  for (let i = 0; i < n; i++) {
    out[i] = SHORT[i]!;
    SHORT[i] = undefined;
  }
  return out;
}

/**
 * A reported wait inflated by the entry's age: `waitMs + age × (max(0, ρ − 1) + stalenessFactor × ρ)` with
 * `ρ = loadPerSec / capacityPerSec` (see {@link RouteOptions.stalenessFactor}).
 */
export function inflateWait(inst: InstanceInfo, ageMs: number, o: RouteOptions): number {
  const rho = inst.capacityPerSec > 0 ? inst.loadPerSec / inst.capacityPerSec : 2;
  return Math.max(0, inst.waitMs) + ageMs * (Math.max(0, rho - 1) + o.stalenessFactor * rho);
}

/** Enters `c` into the short list ({@link SHORT}, best first), replacing a worse candidate of the same peer. */
function insertCandidate(c: RouteCandidate, max: number): void {
  const list = SHORT;
  let existing = -1;
  for (let i = 0; i < shortCount; i++) if (list[i]!.serverId === c.serverId) existing = i;
  if (existing >= 0) {
    if (better(list[existing]!, c)) return;
    for (let j = existing; j < shortCount - 1; j++) list[j] = list[j + 1]!;
    list[--shortCount] = undefined;
  }
  let i = shortCount;
  while (i > 0 && better(c, list[i - 1]!)) i--;
  if (i >= max) return;
  // Insert at i, shifting the tail, then keep at most max.
  for (let j = shortCount; j > i; j--) list[j] = list[j - 1]!;
  list[i] = c;
  shortCount++;
  if (shortCount > max) list[--shortCount] = undefined;
}

/**
 * False only when {@link insertCandidate} would discard the candidate: the list is full, holds no candidate of
 * the same peer, and the candidate does not beat the last one. Lets the scan skip building it (most feasible
 * peers of a busy zone never make the short list).
 */
function mayEnter(estimateAt: number, load: number, serverId: ServerId, max: number): boolean {
  const list = SHORT;
  if (shortCount < max) return true;
  for (let i = 0; i < shortCount; i++) if (list[i]!.serverId === serverId) return true;
  const last = list[shortCount - 1]!;
  if (estimateAt !== last.estimateAt) return estimateAt < last.estimateAt;
  if (load !== last.load) return load < last.load;
  return serverId < last.serverId;
}

function better(a: RouteCandidate, b: RouteCandidate): boolean {
  if (a.estimateAt !== b.estimateAt) return a.estimateAt < b.estimateAt;
  if (a.load !== b.load) return a.load < b.load;
  return a.serverId < b.serverId;
}

function minRunMs(entry: ServerEntry | undefined, serviceId: ServiceId): number | undefined {
  let best: number | undefined;
  for (const inst of entry?.instances ?? []) {
    if (inst.serviceId === serviceId && inst.status === 'ready') best = Math.min(best ?? Infinity, inst.nextRunMs ?? inst.runMs);
  }
  return best;
}

function assertRequest(r: RoutedRequest): void {
  if (typeof r !== 'object' || r === null) invalidOption('request', r, 'an object');
  if (typeof r.serviceId !== 'string' || r.serviceId === '') invalidOption('request.serviceId', r.serviceId, 'a non-empty string');
  if (typeof r.deadline !== 'number' || Number.isNaN(r.deadline)) invalidOption('request.deadline', r.deadline, 'a number (absolute ms)');
  if (r.hops !== undefined && !(Number.isInteger(r.hops) && r.hops >= 0)) invalidOption('request.hops', r.hops, 'an integer >= 0');
  if (r.visited !== undefined && !Array.isArray(r.visited)) invalidOption('request.visited', r.visited, 'an array of server ids');
  assertBytes('payloadBytes', r.payloadBytes);
  assertBytes('responseBytes', r.responseBytes);
}

function assertBytes(field: 'payloadBytes' | 'responseBytes', v: unknown): void {
  if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) invalidOption(`request.${field}`, v, 'a finite number >= 0');
}
