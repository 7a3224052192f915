// Overload in virtual time on a device whose run times and completions are noisier than the profile says (a shared
// CPU: most runs near the profile, a tail several times slower; the host now and then hears of a batch ending
// 10-20 ms late), against a Triton-like fixed batcher under the same load and noise.
import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { EdfQueue } from '@epara/core/scheduling';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';

/** What one virtual-time overload run counted (requests submitted after the warm-up only). */
interface OverloadOutcome {
  submitted: number;
  /** Served by their deadline. */
  good: number;
  /** Served past their deadline by more than the tolerance. */
  late: number;
  /** Served past their deadline, by any amount. */
  pastDeadline: number;
  rejected: number;
  /** Rejections more than the tolerance after the deadline. */
  lateRejected: number;
  batches: number;
  items: number;
}

/** One virtual-time run: a device serving one lane under a Poisson load, with noise the profile does not know. */
interface OverloadRun {
  /** Items/ms offered. */
  readonly ratePerMs: number;
  /** Deadlines drawn uniformly from these, ms after arrival. */
  readonly slosMs: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  /** The run time the scheduler is told (the profile), ms. */
  readonly profileMs: (n: number) => number;
  /** The run time the device really takes, before noise, ms. @default profileMs */
  readonly trueMs?: (n: number) => number;
  /** Multiplies each batch's run (1 = none); gets a uniform [0, 1) draw. @default 1 */
  readonly noise?: (u: number) => number;
  /** How long after a batch ended the host hears of it, ms; gets a uniform [0, 1) draw. @default 0.2 */
  readonly hostDelayMs?: (u: number) => number;
  readonly batchSize: number;
  readonly maxBatchSize: number;
  readonly seed?: number;
  readonly toleranceMs?: number;
}

const STEP_MS = 0.25;
const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

/** A small seeded generator (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the scheduler in virtual time against a worker that runs held batches back to back. */
async function runOverload(o: OverloadRun): Promise<OverloadOutcome> {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const rnd = seeded(o.seed ?? 1);
  const noiseRnd = seeded((o.seed ?? 1) + 1000);
  const tolerance = o.toleranceMs ?? 5;
  const trueMs = o.trueMs ?? o.profileMs;
  const out: OverloadOutcome = { submitted: 0, good: 0, late: 0, pastDeadline: 0, rejected: 0, lateRejected: 0, batches: 0, items: 0 };
  const counts = (it: WorkItem): boolean => it.enqueuedAt >= o.warmupMs;
  let deviceFreeAt = 0;
  let sch!: DeviceScheduler;
  const lane: Lane = {
    id: 'i',
    serviceId: 's',
    queue: new EdfQueue<WorkItem>(),
    batchSize: o.batchSize,
    maxBatchSize: o.maxBatchSize,
    guardMs: 0,
    launchWhenIdle: false,
    arrivalsPerMs: o.ratePerMs,
    latencyMs: (_d, n) => o.profileMs(n),
    dropLatencyMs: () => o.profileMs(1),
    earliestStart: (now) => sch.freeAt(now),
    drop: (it, now) => {
      if (!counts(it)) return;
      out.rejected++;
      if (now > it.deadline + tolerance) out.lateRejected++;
    },
    run: (items) =>
      new Promise<number>((resolve) => {
        const runMs = trueMs(items.length) * (o.noise?.(noiseRnd()) ?? 1);
        const end = Math.max(clock.now(), deviceFreeAt) + runMs;
        deviceFreeAt = end;
        if (items.some(counts)) {
          out.batches++;
          out.items += items.length;
        }
        timers.at(end + (o.hostDelayMs?.(noiseRnd()) ?? 0.2), () => {
          for (const it of items) {
            if (!counts(it)) continue;
            const past = clock.now() - it.deadline;
            if (past > 0) out.pastDeadline++;
            else out.good++;
            if (past > tolerance) out.late++;
          }
          resolve(runMs);
        });
      }),
    onBatchDone: () => undefined,
  };
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
  sch.attach(lane);
  let seq = 0;
  let next = -Math.log(1 - rnd()) / o.ratePerMs;
  for (let t = 0; t < o.durationMs; t += STEP_MS) {
    while (next < t + STEP_MS) {
      const sloMs = o.slosMs[Math.floor(rnd() * o.slosMs.length)]!;
      const item: WorkItem = { seq: seq++, serviceId: 's', inputs: {}, key: 'k', deadline: next + sloMs, priority: 0, enqueuedAt: next, frame: false, settle: () => undefined };
      if (counts(item)) out.submitted++;
      clock.set(Math.max(clock.now(), next));
      lane.queue.push(item);
      sch.arrived(lane, item);
      next += -Math.log(1 - rnd()) / o.ratePerMs;
    }
    timers.advance(t + STEP_MS - clock.now());
    await flush();
  }
  sch.close();
  return out;
}

/**
 * The same load on a Triton-like fixed batcher tuned for overload, in virtual time: FIFO, batches of up to
 * `maxBatch` once the oldest waited `delayMs` (or the batch is full), one batch at a time on the device, a
 * queue timeout of each request's SLO minus a full batch's run, and a queue bounded to
 * `maxBatch × ⌊min SLO / L(maxBatch)⌋`. No learned margins: what its users configure.
 */
async function runFixedBatcher(o: OverloadRun & { readonly delayMs: number; readonly maxBatch: number }): Promise<OverloadOutcome> {
  const rnd = seeded(o.seed ?? 1);
  const noiseRnd = seeded((o.seed ?? 1) + 1000);
  const tolerance = o.toleranceMs ?? 5;
  const trueMs = o.trueMs ?? o.profileMs;
  const out: OverloadOutcome = { submitted: 0, good: 0, late: 0, pastDeadline: 0, rejected: 0, lateRejected: 0, batches: 0, items: 0 };
  const fullMs = o.profileMs(o.maxBatch);
  const maxQueue = o.maxBatch * Math.max(1, Math.floor(Math.min(...o.slosMs) / fullMs));
  const queue: { at: number; deadline: number; timeoutAt: number }[] = [];
  let busyUntil = 0; // when the host hears the running batch ended
  let next = -Math.log(1 - rnd()) / o.ratePerMs;
  const counts = (at: number): boolean => at >= o.warmupMs;
  for (let t = 0; t < o.durationMs; t += STEP_MS) {
    while (next < t + STEP_MS) {
      const sloMs = o.slosMs[Math.floor(rnd() * o.slosMs.length)]!;
      if (counts(next)) out.submitted++;
      if (queue.length >= maxQueue) {
        if (counts(next)) out.rejected++;
      } else queue.push({ at: next, deadline: next + sloMs, timeoutAt: next + Math.max(0, sloMs - fullMs) });
      next += -Math.log(1 - rnd()) / o.ratePerMs;
    }
    const now = t + STEP_MS;
    for (let i = queue.length - 1; i >= 0; i--) {
      if (now >= queue[i]!.timeoutAt) {
        if (counts(queue[i]!.at)) out.rejected++;
        queue.splice(i, 1);
      }
    }
    if (now < busyUntil || queue.length === 0) continue;
    if (queue.length < o.maxBatch && now - queue[0]!.at < o.delayMs) continue;
    const batch = queue.splice(0, o.maxBatch);
    const end = now + trueMs(batch.length) * (o.noise?.(noiseRnd()) ?? 1) + (o.hostDelayMs?.(noiseRnd()) ?? 0.2);
    busyUntil = end;
    if (batch.some((b) => counts(b.at))) {
      out.batches++;
      out.items += batch.length;
    }
    for (const b of batch) {
      if (!counts(b.at)) continue;
      const past = end - b.deadline;
      if (past > 0) out.pastDeadline++;
      else out.good++;
      if (past > tolerance) out.late++;
    }
  }
  return out;
}

/** The profile, and the noise of a loaded two-core machine (as `pnpm bench:runtime` saw it: compute p99 ~4x). */
const affine = (n: number): number => 2 + 0.5 * n;
const harsh = {
  noise: (u: number): number => (u < 0.8 ? 1 + 0.3 * (u / 0.8) : u < 0.95 ? 1.5 + (u - 0.8) * 3 : 3 + (u - 0.95) * 40),
  hostDelayMs: (u: number): number => (u < 0.97 ? 0.2 + u : 10 + (u - 0.97) * 300),
};
const servedOf = (o: OverloadOutcome): number => o.good + o.pastDeadline;

describe('DeviceScheduler under a noisy overload', () => {
  it('sends no batch ahead that cannot keep its margin, and an idle device runs batches on time 9 in 10: more on time, fewer late', async () => {
    // Deadlines 10/25 ms at ~the device's best rate. Launched alone when nothing kept its margin, the EDF head
    // took the device one item at a time and often finished late: 252 on time, 19 of 339 served more than
    // 5 ms late (5.6 %), mean batch 1.0. Now: 654 on time, 17 of 676 (2.5 %), mean batch 3.5.
    const run = { ratePerMs: 1.5, slosMs: [10, 25], durationMs: 1500, warmupMs: 300, profileMs: affine, ...harsh, batchSize: 1, maxBatchSize: 12 };
    const o = await runOverload(run);
    expect(o.good).toBeGreaterThan(600);
    expect(o.late / servedOf(o)).toBeLessThan(0.035);
    expect(o.lateRejected).toBe(0);
    // The tuned fixed batcher serves more (811 on time), but 6 % of what it serves more than 5 ms late.
    const fixed = await runFixedBatcher({ ...run, delayMs: 0, maxBatch: 12 });
    expect(fixed.late / servedOf(fixed)).toBeGreaterThan(o.late / servedOf(o));
  });

  it('without noise keeps serving at the fixed batcher\'s rate', async () => {
    const run = { ratePerMs: 15, slosMs: [10, 25], durationMs: 1200, warmupMs: 200, profileMs: affine, batchSize: 1, maxBatchSize: 12 };
    const o = await runOverload(run);
    const fixed = await runFixedBatcher({ ...run, delayMs: 0, maxBatch: 12 });
    expect(o.late).toBe(0);
    expect(o.good).toBeGreaterThanOrEqual(0.97 * fixed.good);
  });
});
