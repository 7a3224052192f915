import type { DemoServiceInfo, DemoServiceId } from './catalog.js';

/** Counters of one service in one run. */
export interface ServiceTally {
  offered: number;
  /** Completed within the SLO (deadline, or staleness for frames). */
  good: number;
  /** Completed, but after the SLO. */
  late: number;
  /** Refused or dropped, by error code. */
  dropped: Record<string, number>;
  /**
   * Of the dropped, those whose refusal reached the client before their SLO ran out: the system gave them up on
   * an estimate (refused at entry, or dropped from a queue because it could not finish in time) rather than let
   * them expire. The rest of the dropped with a time expired (a queue timeout at the SLO); `late` ran and
   * answered past it.
   */
  droppedEarly: number;
  /** End-to-end latencies of completed items, ms (client side: from the scheduled arrival to the answer). */
  latencies: number[];
  /** Items this system sent to another server than the one they entered at. */
  offloads: number;
  /** Stream frames by the index of the node that served their stream (requests are not counted here). */
  servedAt: Record<string, number>;
  /** How the stream frames fared, by the index of the node that served their stream. */
  servedOutcome: Record<string, FrameCounts>;
}

/** Outcomes of the stream frames one node served. */
export interface FrameCounts {
  good: number;
  late: number;
  dropped: number;
  /** Latencies of completed frames, ms. */
  latencies: number[];
}

/** Items offered and good per second of a run (by the time they were offered, and completed). */
export interface TallySeries {
  readonly offered: number[];
  readonly good: number[];
}

/** Per-service counters of a run, with the live totals the progress view shows and a per-second series. */
export class Tally {
  readonly services: Record<DemoServiceId, ServiceTally>;
  readonly series: TallySeries = { offered: [], good: [] };
  readonly #budget: Record<string, number>;
  readonly #t0: number;

  /** `t0`: the run's start (`performance.now()` time), origin of the series. */
  constructor(catalog: readonly DemoServiceInfo[], t0 = performance.now()) {
    this.#t0 = t0;
    this.services = {} as Record<DemoServiceId, ServiceTally>;
    this.#budget = {};
    for (const s of catalog) {
      this.services[s.id] = { offered: 0, good: 0, late: 0, dropped: {}, droppedEarly: 0, latencies: [], offloads: 0, servedAt: {}, servedOutcome: {} };
      this.#budget[s.id] = s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs;
    }
  }

  offered(id: DemoServiceId, n = 1): void {
    this.services[id].offered += n;
    this.#bump(this.series.offered, n);
  }

  #bump(into: number[], n: number): void {
    const k = Math.max(0, Math.floor((performance.now() - this.#t0) / 1000));
    while (into.length <= k) into.push(0);
    into[k]! += n;
  }

  completed(id: DemoServiceId, latencyMs: number): void {
    const t = this.services[id];
    t.latencies.push(latencyMs);
    if (latencyMs <= this.#budget[id]!) {
      t.good++;
      this.#bump(this.series.good, 1);
    } else t.late++;
  }

  /**
   * `n` items dropped with `code`; `afterMs`, when known, is how long after its arrival the drop reached the
   * client: under the SLO's budget it counts as given up early ({@link ServiceTally.droppedEarly}).
   */
  dropped(id: DemoServiceId, code: string, n = 1, afterMs?: number): void {
    const t = this.services[id];
    t.dropped[code] = (t.dropped[code] ?? 0) + n;
    if (afterMs !== undefined && afterMs < this.#budget[id]!) t.droppedEarly += n;
  }

  offloaded(id: DemoServiceId): void {
    this.services[id].offloads++;
  }

  /** A stream frame pushed to the stream's server, node `node`. */
  served(id: DemoServiceId, node: number): void {
    const at = this.services[id].servedAt;
    at[node] = (at[node] ?? 0) + 1;
  }

  /** A stream frame served by node `node` settled: completed after `latencyMs`, or dropped (`undefined`). */
  frameSettled(id: DemoServiceId, node: number, latencyMs: number | undefined): void {
    const c = (this.services[id].servedOutcome[node] ??= { good: 0, late: 0, dropped: 0, latencies: [] });
    if (latencyMs === undefined) c.dropped++;
    else {
      c.latencies.push(latencyMs);
      if (latencyMs <= this.#budget[id]!) c.good++;
      else c.late++;
    }
  }

  /** Sums over all services (for the live view). */
  totals(): { offered: number; settled: number; good: number; dropped: number; offloads: number } {
    let offered = 0;
    let good = 0;
    let late = 0;
    let dropped = 0;
    let offloads = 0;
    for (const t of Object.values(this.services)) {
      offered += t.offered;
      good += t.good;
      late += t.late;
      offloads += t.offloads;
      for (const n of Object.values(t.dropped)) dropped += n;
    }
    return { offered, settled: good + late + dropped, good, dropped, offloads };
  }
}
