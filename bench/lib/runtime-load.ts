/**
 * Open-loop load for the goodput comparison: seeded Poisson arrivals with mixed deadlines, replayed against
 * a system under test. Latency counts from each request's intended arrival time, so a system that blocks
 * the event loop (the naive server) is charged for the requests that waited behind it.
 */
import { performance } from 'node:perf_hooks';
import { createSeededRandom } from '@epara/core';

/** One request of the load. */
export interface Arrival {
  /** Offset from the start, ms. */
  readonly at: number;
  /** Relative deadline, ms. */
  readonly sloMs: number;
  /** Which input of the pool it carries. */
  readonly input: number;
}

/** Outcome counts of a run. */
export interface LoadResult {
  readonly offered: number;
  readonly good: number;
  readonly late: number;
  readonly rejected: number;
  readonly goodputPerSec: number;
  readonly durationMs: number;
}

/** A system under test: submits one request, resolves when it finished (rejects when refused). */
export type Submit = (arrival: Arrival, deadline: number) => Promise<unknown>;

/** Seeded Poisson arrivals at `ratePerSec` for `durationMs`, deadlines drawn from `slosMs` uniformly. */
export function poissonLoad(o: { ratePerSec: number; durationMs: number; slosMs: readonly number[]; inputs: number; seed: number }): Arrival[] {
  const rnd = createSeededRandom(o.seed);
  const out: Arrival[] = [];
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - rnd.next()) * 1000) / o.ratePerSec;
    if (t >= o.durationMs) return out;
    out.push({ at: t, sloMs: o.slosMs[Math.floor(rnd.next() * o.slosMs.length)]!, input: Math.floor(rnd.next() * o.inputs) });
  }
}

/**
 * Replays the arrivals against `submit` in real time and counts completions within each request's deadline.
 * `clockNow` is the clock deadlines are expressed in (the executor's: epoch ms).
 */
export async function replay(arrivals: readonly Arrival[], submit: Submit, clockNow: () => number = () => performance.timeOrigin + performance.now()): Promise<LoadResult> {
  const start = performance.now();
  const epochStart = clockNow() - (performance.now() - start);
  let good = 0;
  let late = 0;
  let rejected = 0;
  // Outstanding requests are counted, not kept: an array of every request's promise (and its reaction) held for
  // the whole run outlived V8's young generation and was collected by full collections, whose pauses the lag
  // figures measured as the executor's.
  let outstanding = 0;
  let submitted = false;
  let allSettled: (() => void) | undefined;
  const settled = (): void => {
    if (--outstanding === 0 && submitted) allSettled?.();
  };
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now() - start;
      while (i < arrivals.length && arrivals[i]!.at <= now) {
        const a = arrivals[i++]!;
        const deadline = epochStart + a.at + a.sloMs;
        outstanding++;
        submit(a, deadline).then(
          () => {
            if (clockNow() <= deadline) good++;
            else late++;
            settled();
          },
          () => {
            rejected++;
            settled();
          },
        );
      }
      if (i >= arrivals.length) resolve();
      else setTimeout(tick, Math.max(0, arrivals[i]!.at - (performance.now() - start) - 0.5));
    };
    tick();
  });
  submitted = true;
  if (outstanding > 0) await new Promise<void>((resolve) => (allSettled = resolve));
  const durationMs = arrivals.length ? arrivals[arrivals.length - 1]!.at : 1;
  return { offered: arrivals.length, good, late, rejected, goodputPerSec: (good * 1000) / durationMs, durationMs };
}
