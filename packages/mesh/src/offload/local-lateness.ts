import type { LocalEstimate, ServiceId } from '@epara/core';

/** Observations kept per service (the most recent ones). */
const WINDOW = 32;
/** Fewest fresh observations a correction is made from: one slow request alone says little. */
const MIN_OBSERVATIONS = 4;
/** Largest correction: an estimate is never stretched more than this. */
const MAX_RATIO = 4;
/** Estimated waits shorter than this are not observed: their ratio is mostly timer and hand-off noise, ms. */
const MIN_WAIT_MS = 1;

interface Ring {
  readonly ratios: Float64Array;
  readonly at: Float64Array;
  next: number;
  size: number;
  /**
   * The latest deadline of the local requests {@link LocalLateness.admitted} recorded (NaN: none recorded, so the
   * queue is never taken for drained): past it, every request the observations came from has settled.
   */
  drainsAt: number;
  /** Decisions before this instant belong to a queue that drained since: their observations are not taken. */
  since: number;
}

/**
 * How much longer this server's local requests really wait than the executor estimated when they were routed,
 * per service, from the recent ones: each local request that settles records its actual wait (decision to
 * result; a request dropped `DEADLINE_EXCEEDED` waited at least until its deadline) over the estimated one.
 * Routing scales the local estimate's wait by the median of the observations younger than `maxAgeMs` (never
 * below 1: it corrects optimism only; at most ×4), and the node announces its instances' waits scaled the same
 * way. Where the executor's figure leaves out what the host adds to each batch (the hand-offs to and from the
 * device's thread, an event loop or a core shared with other work), the correction is what is left; where the
 * figure is right it stays 1. Observations age out, so a server that stopped receiving local requests because
 * of its correction is trusted again within `maxAgeMs` (a correction that nothing can refresh would lock a
 * service out). A queue that drained resets it: once every local request of the service has passed its deadline
 * ({@link admitted}) and none has come since, what the observations measured — the queue they waited in — is
 * gone, and the correction is 1 until the requests of the new queue teach it again. Without the reset, the last
 * observations of a queue that collapsed (requests dropped at their deadlines, ×4 each) stretched the first
 * estimates after an idle gap shorter than `maxAgeMs` — a new load, a new placement — by up to 4.
 */
export class LocalLateness {
  readonly #maxAgeMs: number;
  readonly #rings = new Map<ServiceId, Ring>();
  readonly #scratch = new Float64Array(WINDOW);
  /** Every service's fresh observations, for {@link LocalLateness.hostRatio} (grown with the services). */
  #all = new Float64Array(0);

  constructor(maxAgeMs: number) {
    this.#maxAgeMs = maxAgeMs;
  }

  /**
   * Records one local request: routed at `decidedAt` with the estimate `estimateAt`, settled at `settledAt` — all
   * on one clock that never steps (the node's monotonic clock), which {@link ratio}'s `now` is on too.
   */
  observe(serviceId: ServiceId, o: { decidedAt: number; estimateAt: number; settledAt: number }): void {
    const estimated = o.estimateAt - o.decidedAt;
    if (!(estimated >= MIN_WAIT_MS) || !(this.#maxAgeMs > 0)) return;
    const r = this.#ring(serviceId);
    // A request of a queue that drained before the current one started (a batch that ran past its deadline).
    if (o.decidedAt < r.since) return;
    r.ratios[r.next] = Math.max(0, o.settledAt - o.decidedAt) / estimated;
    r.at[r.next] = o.settledAt;
    r.next = (r.next + 1) % WINDOW;
    r.size = Math.min(WINDOW, r.size + 1);
  }

  /**
   * Records a request of `serviceId` queued here, routed at `decidedAt` with its `deadline` (both on the clock of
   * {@link observe}). When every request recorded before had passed its deadline by `decidedAt`, the queue they
   * waited in has drained: their observations are dropped, and this request starts the new queue's.
   */
  admitted(serviceId: ServiceId, o: { decidedAt: number; deadline: number }): void {
    if (!(this.#maxAgeMs > 0)) return;
    const r = this.#ring(serviceId);
    if (r.drainsAt < o.decidedAt) {
      r.next = 0;
      r.size = 0;
      r.since = o.decidedAt;
    }
    r.drainsAt = Number.isNaN(r.drainsAt) ? o.deadline : Math.max(r.drainsAt, o.deadline);
  }

  /** The factor this server's estimated waits for `serviceId` are scaled by at `now` (1: no correction). */
  ratio(serviceId: ServiceId, now: number): number {
    const r = this.#rings.get(serviceId);
    if (!r || r.drainsAt < now) return 1;
    return clampedMedian(this.#scratch.subarray(0, this.#fresh(r, now, this.#scratch, 0)));
  }

  /**
   * The same correction over every service's observations at `now`: how much longer than estimated this server's
   * local work takes as a whole. Stream frames are not observed (they have no estimate at routing), so stream
   * admission reads this: a server whose work runs `k` times slower than its estimates has `1 / k` of the rate
   * capacity its profiles promise. On a server with several devices it mixes them. A service whose queue drained
   * ({@link admitted}) adds nothing: streams opened after an idle gap are not priced at the last load's figure.
   */
  hostRatio(now: number): number {
    let all = this.#all;
    if (all.length < this.#rings.size * WINDOW) all = this.#all = new Float64Array(this.#rings.size * WINDOW);
    let n = 0;
    for (const r of this.#rings.values()) if (!(r.drainsAt < now)) n = this.#fresh(r, now, all, n);
    return clampedMedian(all.subarray(0, n));
  }

  #ring(serviceId: ServiceId): Ring {
    let r = this.#rings.get(serviceId);
    if (!r) this.#rings.set(serviceId, (r = { ratios: new Float64Array(WINDOW), at: new Float64Array(WINDOW), next: 0, size: 0, drainsAt: Number.NaN, since: Number.NEGATIVE_INFINITY }));
    return r;
  }

  /** Copies `r`'s observations younger than the age limit into `into` from `at`; returns the new end. */
  #fresh(r: Ring, now: number, into: Float64Array, at: number): number {
    let n = at;
    for (let i = 0; i < r.size; i++) if (now - r.at[i]! <= this.#maxAgeMs) into[n++] = r.ratios[i]!;
    return n;
  }

  /**
   * `estimate` with its wait from `now` (the estimate's clock) scaled by {@link ratio} at `observedNow` (the clock
   * the observations were stamped on, when it is another); unchanged when there is nothing to correct.
   */
  correct(serviceId: ServiceId, estimate: LocalEstimate | undefined, now: number, observedNow = now): LocalEstimate | undefined {
    if (estimate === undefined || !estimate.ready || estimate.completionAt <= now) return estimate;
    const k = this.ratio(serviceId, observedNow);
    return k === 1 ? estimate : { ready: true, completionAt: now + (estimate.completionAt - now) * k };
  }
}

/** The median of `ratios` (sorted in place) between 1 and the largest correction; 1 with too few of them. */
function clampedMedian(ratios: Float64Array): number {
  const n = ratios.length;
  if (n < MIN_OBSERVATIONS) return 1;
  const sorted = ratios.sort();
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return Math.min(MAX_RATIO, Math.max(1, median));
}
