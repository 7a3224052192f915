import { EPARA_PLACEMENT_OPTIONS } from '@epara/core/internal';
import type { PlacementOptions, RouteOptions, StrategyOptions } from '@epara/core';
import type { LatencyGuardOptions } from '@epara/core/scheduling';

/** Ring synchronization parameters and the errors injected into it (experiment E4). */
export interface SyncOptions {
  /** A token starts around each zone's ring every period, ms. @default 500 */
  readonly periodMs: number;
  /** Probability that one ring message (one attempt) is lost. @default 0 */
  readonly lossProbability: number;
  /** Extra one-way delay added to every ring message, ms (staleness). @default 0 */
  readonly extraDelayMs: number;
  /** Multiplicative noise on reported waits, loads and rates: each ×(1+U[−noise, noise]). @default 0 */
  readonly noise: number;
  /** Bytes of one server entry on the wire (the token's size is entries × this). @default 200 */
  readonly entryBytes: number;
  /** Time a server waits for its successor's acknowledgement before resending (or bypassing), ms. @default 50 */
  readonly ackTimeoutMs: number;
  /** Resends of an unacknowledged ring message before the successor is bypassed as dead. @default 2 */
  readonly maxRetries: number;
}

/** Options of the EPARA system and its ablations. */
export interface EparaSystemOptions {
  /** Categorize services (false = ablation "no categorization": every service batched, frames are requests). @default true */
  readonly categorize: boolean;
  /** Offload between servers (false = ablation "no offloading": hop limit 0). @default true */
  readonly offload: boolean;
  /** Re-place every period and after failures (false = ablation "static placement": placed once). @default true */
  readonly periodicPlacement: boolean;
  /** Ring sync (false = ablation "no sync": the view is the placement's, without live waits or loads). @default true */
  readonly sync: boolean;
  /** Placement period, ms. @default 30000 */
  readonly placementPeriodMs: number;
  /** Time to detect a failed server (a missed ring acknowledgement) before re-placing, ms. @default 1000 */
  readonly failureDetectionMs: number;
  /**
   * Placement plans capacity for `forecast × demandHeadroom`: a margin for bursts and for the time a pack
   * takes to fill (the same factor the centralized baseline uses). @default 1.25
   */
  readonly demandHeadroom: number;
  /** The forecaster's window: arrivals are counted and the change test runs every this many ms. @default 1000 */
  readonly forecastWindowMs: number;
  /** Half-life of the forecast's smoothed level, ms. @default 30000 */
  readonly forecastHalfLifeMs: number;
  /** Re-place as soon as the forecaster detects a demand shift (not only every period). @default true */
  readonly reactToShifts: boolean;
  /** Smallest gap between two placements of a zone triggered by shifts, ms. @default 10000 */
  readonly minReplaceGapMs: number;
  /** Launch guard of the batch rule `now + L(queue) ≥ earliestDeadline − guard`, ms. @default 2 */
  readonly batchGuardMs: number;
  /**
   * The launch rule estimates a batch with the device's current share (the batches already running on it,
   * time slicing and interference, phase by phase as they end) instead of the profile alone. Off by default:
   * measured in the edge world it costs about 1 % of goodput (earlier, smaller launches mean more concurrent
   * batches and more interference), while the learned guard already absorbs the average share. @default false
   */
  readonly shareAwareLaunch: boolean;
  /**
   * Each instance learns how much later than predicted its batches end (core `LatencyGuard`, as the runtime's
   * device scheduler keeps it: a high quantile of actual − predicted per batch-size class, ageing out), and the
   * launch rule adds it to the guard of each candidate batch size, instead of trusting the profile. @default true
   */
  readonly learnedGuard: boolean;
  /** Options of the learned guard (core `LatencyGuardOptions`; core's defaults where not given). @default {} */
  readonly learnedGuardOptions: Partial<LatencyGuardOptions>;
  /**
   * The client of a stream its access server refused keeps the stream's frames (they settle as refused) while its
   * access uplink is backed up by more than this many ms, instead of uploading them to be routed one by one; it
   * asks for admission again when its backoff ends. At a saturated access point (the hot-spot microcomputer) the
   * frames of refused streams, almost all refused again one by one, took the uplink time that admitted streams
   * and requests needed, so those arrived too late too. `Infinity`: always uploads. @default 20
   */
  readonly holdRefusedFramesMs: number;
  /**
   * A multi-frame instance fills packs sized for the rate of the streams pinned to it now (the smallest pack
   * that keeps up with that rate within the staleness limit, at most the plan's), as the runtime's instances do,
   * instead of the plan's pack (sized for the rate placement expected). @default true
   */
  readonly ratePacks: boolean;
  /**
   * Fill-aware waiting, as the runtime's instances do (`batchWait: 'expected-fill'`): an idle device waits for
   * a partial batch only when the instance's recent arrivals are expected to fill it before the head item's
   * latest start; otherwise it launches at once instead of spending the items' slack waiting. @default true
   */
  readonly fillAwareWait: boolean;
  /**
   * Under a backlog, core's overload rule also tries packs and batches between the one the head's deadline
   * allows and the plan's (`planLaunch`'s `overloadBelowPlan`): a stale frame at the head of a multi-frame
   * queue no longer makes the instance launch packs of one while fresher, larger packs would fit. @default true
   */
  readonly overloadBelowPlan: boolean;
  /**
   * An overloaded instance (its recent arrivals need at least 90 % of its devices' time at its pack or batch
   * size) passes over a head item that only a small batch could still serve when a batch of later items completes
   * at least 4× as many on-time items per ms (core `planLaunch`'s `skipShrinkingHead`); the head stays queued and
   * expires unless a device frees in time. A multi-frame pack's cost is mostly fixed (an `hci` frame alone takes
   * ~31 ms, one more in a pack of 40 ~3 ms), so serving each hot-spot frame that arrives with too little staleness
   * left in a pack of one took a sixth of a loaded `hci` instance's time. @default true
   */
  readonly skipShrinkingHead: boolean;
  /**
   * Servers report each instance's `nextRunMs` in the view (the run of the batch a request arriving now would
   * join, by the same arithmetic as the local estimate), so peers' routing stops assuming every request rides a
   * full plan-sized batch: a lightly loaded `seg-image` instance (plan batch 21, 58.5 ms) answers a newcomer in
   * ~8.5 ms, and requests that arrive late from a congested access link were rejected as infeasible. LLM
   * instances report none (a small LLM batch runs as long as its longest answer, which the profile of the
   * mean understates). @default true
   */
  readonly reportNextRun: boolean;
  /**
   * Routing counts this server's own egress backlog (the offloads it already sent, over its link rate: what a
   * server knows of its NIC queue) before a forwarded payload leaves: a request that can no longer reach a peer
   * in time behind that queue is refused here instead of being sent and taking link time from the ones that
   * can. Matters at a hot-spot microcomputer, whose 100 Mbit/s link must forward everything it receives
   * (9.6 ms per 120 kB image). Measured: +0.1 … +0.6 % at seed 1, +0.4 … +1.9 % at seed 2 on the loaded
   * latency and mixed points, neutral on streams. @default true
   */
  readonly egressAwareOffload: boolean;
  /**
   * Share of its own link a server lets the streams it pins to peers fill (their `frameBytes × rateHz`): a stream
   * whose frames would not fit is not sent to a peer (core `admitStream`'s `egressSpareBytesPerSec`). A stream is
   * charged to the link its frames leave over: that of the access server they enter at, which changes when its
   * client fails over to another one. `Infinity` turns the check off. @default 1
   */
  readonly streamEgressShare: number;
  /**
   * The access server counts a stream against its own link (`streamEgressShare`) from the moment it sends the
   * stream's admission to a peer, not only once the peer's answer is back: it knows what it sent. Without it,
   * streams that start together each pass the link check while the first answers travel. Measured: frequency ×12
   * (12 s, seed 1) 2577 → 2775 items/s, stale frames 1179 → 13 (docs/simulator.md, E7). @default true
   */
  readonly chargeLinkWhileAdmitting: boolean;
  /**
   * A pinned stream of which fewer than 2 of the last 20 frames sent to its instance came back answered (e.g.
   * frames from a hot spot whose access uplink makes them arrive too old) is unpinned — the rate it held is freed
   * for streams that can be served — and admitted again no sooner than 2 s later; its frames are routed one by one
   * meanwhile (the server sees the results it returns, so it knows). Measured on seeds 1–3 before stream
   * admission counted the access link: frequency ×10 +0.8 … +3.0 %, ×16 +0.3 … +0.9 %, worst −0.33 % (mixed ×10,
   * seed 3); with it, +0.7 … +1.5 % at mixed ×6 and ×12 and within ±0.5 % elsewhere (docs/simulator.md, E7). @default true
   */
  readonly unpinFailingStreams: boolean;
  /**
   * Placement accounts for co-location interference with the slowdown EPARA measured when two batches share a
   * device (the world's `interference`, as a profiler would find it) instead of core's configured 0.1; an
   * explicit `placementOptions.colocationSlowdown` wins. @default true
   */
  readonly profileInterference: boolean;
  /**
   * Locality-aware placement counts the clients' access legs (the access latency EPARA's servers measure to
   * their clients) in the round trip it tests against the SLO, not only the delays between servers. Off by
   * default: measured in the edge world it lowers goodput by ~1 % and the worst service's attainment (it
   * refuses more remote placements that routing's offloading would still have served in time). @default false
   */
  readonly accessAwareLocality: boolean;
  /**
   * Locality-aware placement counts each item's payload and result on the links (core placement's `transferMs`:
   * the service's upload and result bytes over the slower of the two servers' links), next to the round trip it
   * tests against the SLO. @default false
   */
  readonly transferAwareLocality: boolean;
  /**
   * While its access uplink is backed up by more than this many ms, a client skips a request its access server
   * would refuse on arrival as infeasible (settled `DEADLINE_INFEASIBLE`, as the world's own skip): the server
   * hosts no instance of the service and, by its view and its egress backlog as the client last heard them (one
   * access leg late), no peer could answer the request in time even idle. Every client skips an upload that could
   * not reach its server in time; at a saturated uplink (the hot-spot microcomputer) that holds the queue where
   * uploads arrive with almost no slack, and requests that must still cross the server's egress to a GPU are
   * refused on arrival after taking the uplink's time. Skipping them holds the queue where the others arrive in
   * time. `Infinity`: never. Not deployed: EPARA's real clients (a host service calling `submit`, an Open
   * Inference Protocol client of the gateway) do not hear their access server's view and egress backlog before
   * they upload, so the simulator's EPARA does not skip either; the option measures what such a client would add.
   * @default Infinity
   */
  readonly skipHopelessUploadsMs: number;
  /**
   * How long a client heeds a refusal it heard (ms; 0: never). EPARA's access server refuses on arrival, as
   * `DEADLINE_INFEASIBLE`, a request no instance can answer in time (the gateway's 503 with `Retry-After: 1`); the
   * refusal reaches the client one access leg later. For this long after it, while its access uplink is backed up by
   * more than `heedRefusalsBacklogMs`, the client does not upload a request of that service that would reach the
   * server with no more time left to its deadline than the refused one had (it knows its deadline, its upload queue
   * and its access latency): the server refused that much slack, and the upload would only delay the ones behind
   * it. The clients of one access point are taken as one client (they share its uplink). Learns only from what a
   * client hears, unlike `skipHopelessUploadsMs`; 1000 is the gateway's `Retry-After`. Off by default: no client
   * EPARA ships or a user deploys (a host calling `submit`, a stock Open Inference Protocol client) holds uploads
   * back this way, and the baselines' clients heed nothing, so the simulator's EPARA does not either; the option
   * measures what such a client would add. @default 0
   */
  readonly heedRefusalsMs: number;
  /** The uplink backlog, ms, above which a client acts on a heeded refusal (`heedRefusalsMs`). @default 20 */
  readonly heedRefusalsBacklogMs: number;
  readonly syncOptions: Partial<SyncOptions>;
  readonly routeOptions: Partial<RouteOptions>;
  readonly strategyOptions: Partial<StrategyOptions>;
  /**
   * Core placement options, merged over core's defaults (locality-aware, value-weighted per service, co-location
   * only when whole devices leave a service without an instance, equal placements nearest the demand, and where the
   * devices are short the whole-demand floors by load when they predict clearly more items: see docs/placement.md).
   * @default core's `EPARA_PLACEMENT_OPTIONS` (`{ multiTask: 'auto', shortage: 'estimate', slackReach: true }`)
   */
  readonly placementOptions: PlacementOptions;
}

/** Defaults of {@link SyncOptions}. */
export const DEFAULT_SYNC_OPTIONS: SyncOptions = { periodMs: 500, lossProbability: 0, extraDelayMs: 0, noise: 0, entryBytes: 200, ackTimeoutMs: 50, maxRetries: 2 };

/** Defaults of {@link EparaSystemOptions}. */
export const DEFAULT_EPARA_OPTIONS: EparaSystemOptions = {
  categorize: true,
  offload: true,
  periodicPlacement: true,
  sync: true,
  placementPeriodMs: 30_000,
  failureDetectionMs: 1000,
  demandHeadroom: 1.25,
  forecastWindowMs: 1000,
  forecastHalfLifeMs: 30_000,
  reactToShifts: true,
  minReplaceGapMs: 10_000,
  batchGuardMs: 2,
  shareAwareLaunch: false,
  learnedGuard: true,
  learnedGuardOptions: {},
  holdRefusedFramesMs: 20,
  ratePacks: true,
  fillAwareWait: true,
  overloadBelowPlan: true,
  skipShrinkingHead: true,
  reportNextRun: true,
  egressAwareOffload: true,
  streamEgressShare: 1,
  chargeLinkWhileAdmitting: true,
  unpinFailingStreams: true,
  profileInterference: true,
  accessAwareLocality: false,
  transferAwareLocality: false,
  skipHopelessUploadsMs: Number.POSITIVE_INFINITY,
  heedRefusalsMs: 0,
  heedRefusalsBacklogMs: 20,
  syncOptions: {},
  routeOptions: {},
  strategyOptions: {},
  // The policy EPARA deploys (core's EPARA_PLACEMENT_OPTIONS over its defaults, what the mesh's placement
  // coordinator passes): places where demand enters, using the delays it measures between servers; every
  // service's offered load counts alike (an expensive service is not abandoned for items/s); one service per
  // device unless that leaves a service without an instance (`multiTask: 'auto'`: measured in the edge world,
  // interference β = 0.25, co-location costs goodput at every load even priced with the profiled slowdown, and
  // whole devices serve every service there); among placements that serve the same demand, the server nearest
  // where it enters; where the devices are short, whole-demand floors by load when they predict clearly more
  // items (`shortage: 'estimate'`); a tight latency service's reach reads the slack its items arrive with
  // (`slackReach`). See docs/placement.md.
  placementOptions: { ...EPARA_PLACEMENT_OPTIONS },
};
