/**
 * An A/B of two executor configurations that holds on a shared machine: both arms are loaded up front (one
 * executor and one device worker each) and take turns in short rounds, on the same seeded arrivals per round, the
 * order alternating (A B, B A, …), in one process — a burst of another process's load, or a drift, lands on both
 * arms alike instead of on one run. What each round compares is the two arms' outcomes on the same arrivals:
 * the per-round ratios (their median and range) are the figures, the totals per arm beside them.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { LatencyProfile, TensorLike } from '@epara/core';
import { createExecutor, type Executor, type ExecutorOptions } from '@epara/runtime';
import { poissonLoad, replay } from './runtime-load.js';

/** One arm: its name and the executor options it changes (the rest is the same in both). */
export interface AbArm {
  readonly name: string;
  readonly options: Partial<ExecutorOptions>;
}

/** The workload both arms serve: the model, its profile, the offered rate and the deadlines. */
export interface AbWorkload {
  readonly model: string | Uint8Array;
  readonly profile: LatencyProfile;
  readonly ratePerSec: number;
  readonly slosMs: readonly number[];
  /** One request's input (`ex` is the arm's executor: a lease comes from it). */
  readonly input: (ex: Executor, i: number) => TensorLike;
  readonly inputs: number;
  readonly fake?: boolean;
}

/** One arm's outcome over one round. */
export interface ArmRound {
  readonly offered: number;
  /** Served within the deadline. */
  readonly good: number;
  /** Served past the deadline. */
  readonly late: number;
  /** Served more than `toleranceMs` past the deadline. */
  readonly lateBeyondTolerance: number;
  readonly rejected: number;
  readonly batches: number;
  readonly items: number;
  readonly goodputPerSec: number;
  /** The host's event-loop lag p99 over the round, ms. */
  readonly lagP99Ms: number;
}

/** An arm's totals over every round. */
export interface ArmTotals {
  readonly name: string;
  readonly offered: number;
  readonly served: number;
  /** Served past the deadline, % of served. */
  readonly latePct: number;
  /** Served more than the tolerance past the deadline, % of served. */
  readonly lateBeyondTolerancePct: number;
  readonly meanBatch: number;
  /** Served within the deadline per second of load, over all rounds. */
  readonly goodputPerSec: number;
  /** The median over its rounds of the event-loop lag p99, ms. */
  readonly lagP99MsMedian: number;
}

/** The A/B: per arm totals, and per round the ratio B / A of goodput (median and range). */
export interface AbResult {
  readonly arms: readonly [ArmTotals, ArmTotals];
  readonly goodputRatioMedian: number;
  readonly goodputRatioMin: number;
  readonly goodputRatioMax: number;
  readonly meanBatchRatioMedian: number;
  readonly rounds: readonly (readonly [ArmRound, ArmRound])[];
}

const clockNow = (): number => performance.timeOrigin + performance.now();
/** The median (of an even count, the mean of the middle two). */
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function startArm(arm: AbArm, w: AbWorkload): Promise<Executor> {
  const ex = createExecutor({
    ...(w.fake ? { backend: { kind: 'fake' as const } } : {}),
    devices: [{ id: 'cpu0', threads: 1 }],
    services: [{ id: 'cls', model: w.model, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: Math.min(...w.slosMs) }, profile: w.profile, devices: ['cpu0'] }],
    ...arm.options,
  });
  await ex.start();
  await ex.submit('cls', { x: w.input(ex, 0) }, { deadline: Date.now() + 1000 }).catch(() => undefined);
  return ex;
}

async function runRound(ex: Executor, w: AbWorkload, seed: number, roundMs: number, toleranceMs: number): Promise<ArmRound> {
  const arrivals = poissonLoad({ ratePerSec: w.ratePerSec, durationMs: roundMs, slosMs: w.slosMs, inputs: w.inputs, seed });
  let batches = 0;
  let items = 0;
  const onBatch = (e: { ok: boolean; size: number }): void => {
    if (!e.ok) return;
    batches++;
    items += e.size;
  };
  ex.on('batchCompleted', onBatch);
  let lateBeyondTolerance = 0;
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const r = await replay(
    arrivals,
    (a, deadline) =>
      ex.submit('cls', { x: w.input(ex, a.input) }, { deadline }).then(() => {
        if (clockNow() - deadline > toleranceMs) lateBeyondTolerance++;
      }),
    clockNow,
  );
  lag.disable();
  ex.off('batchCompleted', onBatch);
  return { offered: r.offered, good: r.good, late: r.late, lateBeyondTolerance, rejected: r.rejected, batches, items, goodputPerSec: r.goodputPerSec, lagP99Ms: lag.percentile(99) / 1e6 };
}

function totals(name: string, rs: readonly ArmRound[], roundMs: number): ArmTotals {
  const sum = (f: (r: ArmRound) => number): number => rs.reduce((s, r) => s + f(r), 0);
  const served = sum((r) => r.good + r.late);
  return {
    name,
    offered: sum((r) => r.offered),
    served,
    latePct: (100 * sum((r) => r.late)) / Math.max(1, served),
    lateBeyondTolerancePct: (100 * sum((r) => r.lateBeyondTolerance)) / Math.max(1, served),
    meanBatch: sum((r) => r.items) / Math.max(1, sum((r) => r.batches)),
    goodputPerSec: (1000 * sum((r) => r.good)) / Math.max(1, rs.length * roundMs),
    lagP99MsMedian: median(rs.map((r) => r.lagP99Ms)),
  };
}

/**
 * Runs `rounds` rounds of `roundMs` of `w`'s load on each arm (seeds `seed`, `seed + 1`, …: both arms get the
 * same arrivals in a round), the first arm first in even rounds and second in odd ones.
 */
export async function guardAb(o: { arms: readonly [AbArm, AbArm]; workload: AbWorkload; rounds: number; roundMs: number; seed: number; toleranceMs: number; log?: (line: string) => void }): Promise<AbResult> {
  if (o.rounds === 0) {
    const none = (a: AbArm): ArmTotals => ({ name: a.name, offered: 0, served: 0, latePct: Number.NaN, lateBeyondTolerancePct: Number.NaN, meanBatch: Number.NaN, goodputPerSec: Number.NaN, lagP99MsMedian: Number.NaN });
    return { arms: [none(o.arms[0]), none(o.arms[1])], goodputRatioMedian: Number.NaN, goodputRatioMin: Number.NaN, goodputRatioMax: Number.NaN, meanBatchRatioMedian: Number.NaN, rounds: [] };
  }
  const exs = [await startArm(o.arms[0], o.workload), await startArm(o.arms[1], o.workload)] as const;
  // One untimed round each: the code is warm and each arm has learned its lateness before anything counts.
  for (const ex of exs) await runRound(ex, o.workload, o.seed - 1, o.roundMs, o.toleranceMs);
  const per: [ArmRound[], ArmRound[]] = [[], []];
  const pairs: (readonly [ArmRound, ArmRound])[] = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      const got: ArmRound[] = [];
      for (const k of order) got[k] = await runRound(exs[k]!, o.workload, o.seed + r, o.roundMs, o.toleranceMs);
      const pair = [got[0]!, got[1]!] as const;
      per[0].push(pair[0]);
      per[1].push(pair[1]);
      pairs.push(pair);
      const show = (a: AbArm, x: ArmRound): string =>
        `${a.name} ${x.goodputPerSec.toFixed(0)}/s (late ${x.late} of ${x.good + x.late} served, rejected ${x.rejected}), mean batch ${(x.items / Math.max(1, x.batches)).toFixed(1)}`;
      o.log?.(`  round ${r + 1} (${o.arms[order[0]!]!.name} first): ${show(o.arms[0], pair[0])}; ${show(o.arms[1], pair[1])}; ratio ${(pair[1].goodputPerSec / Math.max(1e-9, pair[0].goodputPerSec)).toFixed(2)}`);
    }
  } finally {
    for (const ex of exs) await ex.close();
  }
  const ratios = pairs.map(([a, b]) => b.goodputPerSec / Math.max(1e-9, a.goodputPerSec));
  const batchRatios = pairs.map(([a, b]) => b.items / Math.max(1, b.batches) / Math.max(1e-9, a.items / Math.max(1, a.batches)));
  return {
    arms: [totals(o.arms[0].name, per[0], o.roundMs), totals(o.arms[1].name, per[1], o.roundMs)],
    goodputRatioMedian: median(ratios),
    goodputRatioMin: Math.min(...ratios),
    goodputRatioMax: Math.max(...ratios),
    meanBatchRatioMedian: median(batchRatios),
    rounds: pairs,
  };
}

/** One line per arm and the ratios, as the bench prints them. */
export function describeAb(r: AbResult): string[] {
  const arm = (a: ArmTotals): string =>
    `  ${a.name.padEnd(24)} goodput ${a.goodputPerSec.toFixed(0).padStart(5)}/s, served ${a.served} of ${a.offered}, late ${a.latePct.toFixed(2)}% (more than the tolerance: ${a.lateBeyondTolerancePct.toFixed(2)}%), mean batch ${a.meanBatch.toFixed(1)}, lag p99 ${a.lagP99MsMedian.toFixed(1)} ms (median of the rounds)`;
  return [
    arm(r.arms[0]),
    arm(r.arms[1]),
    `  ${r.arms[1].name} / ${r.arms[0].name} per round: goodput median ${r.goodputRatioMedian.toFixed(2)}× (range ${r.goodputRatioMin.toFixed(2)}–${r.goodputRatioMax.toFixed(2)}), mean batch median ${r.meanBatchRatioMedian.toFixed(2)}×`,
  ];
}
