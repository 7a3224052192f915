import { invalidOption } from '../errors/epara-error.js';
import type { ServerId, ServiceId } from '../model/device.js';
import type { LocalEstimate } from '../ports/local-executor.js';
import type { ClusterView, InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { resolveRouteOptions, type NetworkModel, type RouteOptions } from './route-options.js';
import { assertRoutingContext, entriesOf, nextHop, type NextHop } from './routing-common.js';
import { slotsOf } from '../view/entry-list.js';
import { indexedOf } from './indexed-network.js';
import type { RoutePlan } from './route-plan.js';

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
 * must be a new object (as `mergeView`, `upsertEntry`, `markDead` and `applyDelta` return). A host that needs only
 * where each request goes can use `routeRequestInto` (`@epara/core/internal`), which builds no candidate list, next hop or reason.
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
  const outcome = decide(input);
  const { request, local, self } = input;
  if (outcome === LOCAL) return { action: 'local', estimateAt: local!.completionAt };
  const hops = request.hops ?? 0;
  if (outcome === FORWARD) {
    const best = SLOTS[0]!;
    return { action: 'forward', serverId: best.serverId, estimateAt: best.estimateAt, candidates: takeShortList(), next: nextHop(hops, request.visited ?? NO_VISITS, self) };
  }
  shortCount = 0;
  // Durations from now, never the absolute times they come from: on an epoch clock those are 13-digit figures no
  // reader can compare with anything.
  const budget = decided.latest - input.now;
  const budgetText = budget >= 0 ? `the ${ms(budget)} ms budget` : `a budget spent ${ms(-budget)} ms ago`;
  const localReady = local !== undefined && local.ready;
  const why = localReady ? `local estimate ${ms(local.completionAt - input.now)} ms, ${ms(local.completionAt - decided.latest)} ms past ${budgetText}` : 'no ready local instance';
  if (outcome === HOP_LIMIT) return { action: 'reject', code: 'HOP_LIMIT', reason: `${why}; ${hops} hops taken, limit ${decided.hopLimit}` };
  if (outcome === NO_INSTANCE) return { action: 'reject', code: 'NO_INSTANCE', reason: `no ready instance of ${request.serviceId} here or in the view` };
  if (outcome === OVERLOADED) return { action: 'reject', code: 'OVERLOADED', reason: `${why}; no unvisited peer meets ${localReady ? 'it' : budgetText} at its current wait` };
  const idle = decided.idleMs;
  const idleText = idle === Infinity ? 'no unvisited peer hosts a ready instance' : `even an idle instance would take ${ms(idle)} ms, ${ms(idle - budget)} ms past ${localReady ? 'it' : budgetText}`;
  return { action: 'reject', code: 'DEADLINE_INFEASIBLE', reason: `${why}; ${idleText}` };
}

/** A duration for a reason: to a tenth of a millisecond, without trailing zeros. */
function ms(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/**
 * {@link routeRequest}'s decision written into a caller-owned {@link RoutePlan}: the action, the peer to forward
 * to, the estimate and the rejection code, without the candidate list, the next hop's visited list and the
 * reason, which a host routing every request of a busy server need not build (`routeRequest` allocates them per
 * call). The same rule and validation; the plan is valid until the next call with it.
 *
 * @throws EparaError `INVALID_OPTIONS` for a malformed request, view, time or option.
 * @example
 * ```ts
 * const plan = new RoutePlan();
 * routeRequestInto({ request: { serviceId: 'seg', deadline: now + 80 }, local: executor.estimate('seg'), view, self: 'edge-1', now }, plan);
 * if (plan.action === 'forward') send(plan.serverId);
 * ```
 */
export function routeRequestInto(input: RouteRequestInput, into: RoutePlan): RoutePlan {
  const outcome = decide(input);
  if (outcome === LOCAL) {
    into.action = 'local';
    into.serverId = input.self;
    into.estimateAt = input.local!.completionAt;
    into.code = undefined;
    return into;
  }
  if (outcome === FORWARD) {
    into.action = 'forward';
    into.serverId = SLOTS[0]!.serverId;
    into.estimateAt = SLOTS[0]!.estimateAt;
    into.code = undefined;
  } else {
    into.action = 'reject';
    into.serverId = '';
    into.estimateAt = Number.NaN;
    into.code = REJECT_CODES[outcome - HOP_LIMIT]!;
  }
  shortCount = 0;
  return into;
}

/** What {@link decide} found: queue here, forward to the short list's head, or one of the rejections in order. */
const LOCAL = 0;
const FORWARD = 1;
const HOP_LIMIT = 2;
const NO_INSTANCE = 3;
const OVERLOADED = 4;
const INFEASIBLE = 5;
type Outcome = typeof LOCAL | typeof FORWARD | typeof HOP_LIMIT | typeof NO_INSTANCE | typeof OVERLOADED | typeof INFEASIBLE;
const REJECT_CODES = ['HOP_LIMIT', 'NO_INSTANCE', 'OVERLOADED', 'DEADLINE_INFEASIBLE'] as const;

/**
 * The figures of the last {@link decide} a rejection's reason quotes: `deadline − guardMs`, the hop limit, and the
 * quickest run from now an idle instance could give (an unvisited peer's travel and run, or this server's own run;
 * `Infinity`: none).
 */
const decided = { latest: 0, hopLimit: 0, idleMs: Infinity };

/** The routing rule (see {@link routeRequest}); the short list is left in {@link SLOTS} for the caller. */
function decide(input: RouteRequestInput): Outcome {
  const { request, local, view, self, now } = input;
  const o = resolveRouteOptions(input.options);
  assertRoutingContext(view, self, now);
  assertRequest(request);
  const latest = request.deadline - o.guardMs;
  if (local !== undefined && local.ready && local.completionAt <= latest) return LOCAL;
  const hops = request.hops ?? 0;
  const visited = request.visited ?? NO_VISITS;
  const scan = scanPeers(input, o, visited, latest);
  if (shortCount > 0 && hops < o.hopLimit) return FORWARD;
  decided.latest = latest;
  decided.hopLimit = o.hopLimit;
  const localReady = local !== undefined && local.ready;
  if (shortCount > 0) return HOP_LIMIT;
  if (!localReady && !scan.anyInstance) return NO_INSTANCE;
  const selfRun = minRunMs(view.entries[self], request.serviceId);
  const idleLocalFits = localReady && (selfRun === undefined || now + selfRun <= latest);
  if (scan.idleFits || idleLocalFits) return OVERLOADED;
  decided.idleMs = localReady && selfRun !== undefined ? Math.min(selfRun, scan.idleMs) : scan.idleMs;
  return INFEASIBLE;
}

interface PeerScan {
  /** Some alive peer (visited or not) hosts a ready instance. */
  anyInstance: boolean;
  /** Some unvisited peer would meet the deadline if it were idle. */
  idleFits: boolean;
  /** The quickest travel and run of an unvisited peer's instance, ms (`Infinity`: none). */
  idleMs: number;
}

const SCAN: PeerScan = { anyInstance: false, idleFits: false, idleMs: Infinity };

/** A short-list slot: a candidate's figures, rewritten in place by each scan. */
interface Slot {
  serverId: ServerId;
  instanceId: string;
  estimateAt: number;
  inflatedWaitMs: number;
  load: number;
}

/**
 * The short list while a scan builds it, best first: slots `0..shortCount−1` are the candidates, the slots past
 * them spares that the next insertion reuses. A candidate's figures are written into a slot (a literal per
 * candidate entering the list was a few heap numbers each), and {@link routeRequest} copies the list out at its
 * exact size for its decision.
 */
const SLOTS: Slot[] = [];
let shortCount = 0;
/** A request without `visited` (read only: `nextHop` copies it). */
const NO_VISITS: readonly ServerId[] = [];

function scanPeers(input: RouteRequestInput, o: RouteOptions, visited: readonly ServerId[], latest: number): PeerScan {
  const { request, view, self, now, network, sentSinceReport } = input;
  // One reused record (decisions are synchronous and keep only the candidate list, which is new per scan).
  const scan = SCAN;
  scan.anyInstance = false;
  scan.idleFits = false;
  scan.idleMs = Infinity;
  shortCount = 0;
  const serviceId = request.serviceId;
  const entries = entriesOf(view);
  // travelMs inlined with one delay and one bandwidth lookup per peer (same arithmetic as sendMs, twice).
  const delays = network?.delayMs;
  const bandwidths = network?.bandwidthBytesPerMs;
  // An indexed model read by the view's slots: the same figures as its records (checked: the slot's id is the peer's).
  const indexed = indexedOf(network);
  const slots = indexed === undefined ? undefined : slotsOf(view);
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
        // The same arithmetic in both branches, each on its own figures: one variable fed by a typed array on one
        // path and by a record on the other would hold a boxed number.
        const slot = slots === undefined ? -1 : slots[e]!;
        if (slot >= 0 && indexed!.ids[slot] === peer) {
          const delay = indexed!.figures[2 * slot]!;
          const bw = indexed!.figures[2 * slot + 1]!;
          const there = delay + payloadBytes / bw;
          travel = returnHop ? there + (delay + responseBytes / bw) : there;
        } else {
          const delay = delays?.[peer] ?? o.defaultDelayMs;
          const bw = bandwidths?.[peer] ?? o.defaultBandwidthBytesPerMs;
          const there = delay + payloadBytes / bw;
          travel = returnHop ? there + (delay + responseBytes / bw) : there;
        }
      }
      const run = inst.nextRunMs ?? inst.runMs;
      if (now + travel + run <= latest) scan.idleFits = true;
      if (travel + run < scan.idleMs) scan.idleMs = travel + run;
      const sent = sentSinceReport?.[peer] ?? 0;
      const sentMs = sent > 0 && inst.capacityPerSec > 0 ? (sent * 1000) / inst.capacityPerSec : 0;
      const inflatedWaitMs = inflateWait(inst, Math.max(0, age), o) + sentMs;
      const estimateAt = now + travel + inflatedWaitMs + run;
      if (estimateAt <= latest && mayEnter(estimateAt, entry.load, peer, o.maxCandidates)) {
        const slot = insertCandidate(estimateAt, entry.load, peer, o.maxCandidates);
        if (slot !== undefined) {
          slot.instanceId = inst.instanceId;
          slot.inflatedWaitMs = inflatedWaitMs;
        }
      }
    }
  }
  return scan;
}

/** The short list as an exact-size array of fresh candidates, emptied (plain loops: `slice` is a builtin call, dear for three slots). */
function takeShortList(): RouteCandidate[] {
  const n = shortCount;
  const out = new Array<RouteCandidate>(n);
  for (let i = 0; i < n; i++) {
    const c = SLOTS[i]!;
    out[i] = { serverId: c.serverId, instanceId: c.instanceId, estimateAt: c.estimateAt, inflatedWaitMs: c.inflatedWaitMs, load: c.load };
  }
  shortCount = 0;
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

/**
 * Enters a candidate into the short list ({@link SLOTS}, best first), replacing a worse candidate of the same peer;
 * returns its slot (with its estimate, load and peer written; the caller writes the rest), or `undefined` when it
 * does not enter.
 */
function insertCandidate(estimateAt: number, load: number, serverId: ServerId, max: number): Slot | undefined {
  const list = SLOTS;
  let existing = -1;
  for (let i = 0; i < shortCount; i++) if (list[i]!.serverId === serverId) existing = i;
  if (existing >= 0) {
    if (better(list[existing]!, estimateAt, load, serverId)) return undefined;
    // The replaced candidate's slot becomes the first spare.
    const gone = list[existing]!;
    for (let j = existing; j < shortCount - 1; j++) list[j] = list[j + 1]!;
    list[--shortCount] = gone;
  }
  let i = shortCount;
  while (i > 0 && beats(estimateAt, load, serverId, list[i - 1]!)) i--;
  if (i >= max) return undefined;
  // Insert at i a spare slot (the first one past the list, or a new one), shifting the tail; keep at most max.
  const slot = list[shortCount] ?? { serverId, instanceId: '', estimateAt, inflatedWaitMs: 0, load };
  for (let j = shortCount; j > i; j--) list[j] = list[j - 1]!;
  list[i] = slot;
  slot.serverId = serverId;
  slot.estimateAt = estimateAt;
  slot.load = load;
  shortCount++;
  // The last candidate falls off into the spares.
  if (shortCount > max) shortCount--;
  return slot;
}

/**
 * False only when {@link insertCandidate} would discard the candidate: the list is full, holds no candidate of
 * the same peer, and the candidate does not beat the last one. Lets the scan skip it (most feasible peers of a
 * busy zone never make the short list).
 */
function mayEnter(estimateAt: number, load: number, serverId: ServerId, max: number): boolean {
  const list = SLOTS;
  if (shortCount < max) return true;
  for (let i = 0; i < shortCount; i++) if (list[i]!.serverId === serverId) return true;
  return beats(estimateAt, load, serverId, list[shortCount - 1]!);
}

/** Whether the candidate in `a` ranks before one with these figures: earlier estimate, then lower load, then lower server id. */
function better(a: Slot, estimateAt: number, load: number, serverId: ServerId): boolean {
  if (a.estimateAt !== estimateAt) return a.estimateAt < estimateAt;
  if (a.load !== load) return a.load < load;
  return a.serverId < serverId;
}

/** Whether a candidate with these figures ranks before the one in `b` (the same order as {@link better}). */
function beats(estimateAt: number, load: number, serverId: ServerId, b: Slot): boolean {
  if (estimateAt !== b.estimateAt) return estimateAt < b.estimateAt;
  if (load !== b.load) return load < b.load;
  return serverId < b.serverId;
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
