import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

// Late service under a saturating overload, in virtual time: one device, a flood of requests with mixed
// 10/25 ms deadlines, a run time the profile predicts exactly (2 + 0.5·n ms), and a host that sees every batch
// end `hostDelayMs` after the device finished it (messaging and a busy host thread: what made the real
// classifier's completions arrive late). The host counts a request late when it *sees* it past its deadline.

interface Outcome {
  served: number;
  late: number;
  rejected: number;
  lateRejected: number;
  batches: number;
  /** Run-time estimates the scheduler asked for: how much planning it did. */
  plans: number;
}

const STEP_MS = 0.25;
/** As `pnpm bench:runtime` counts late service and late rejections. */
const TOLERANCE_MS = 5;
const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

async function overload(o: { hostDelayMs: number; durationMs: number; warmupMs: number; plan?: number; max?: number; pauseEveryMs?: number; pauseMs?: number; gapMs?: number; arrivals?: 'pump' | 'arrived'; hostDelayQuantile?: number }): Promise<Outcome> {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const latencyMs = (n: number): number => 2 + 0.5 * n;
  const out: Outcome = { served: 0, late: 0, rejected: 0, lateRejected: 0, batches: 0, plans: 0 };
  const counts = (it: WorkItem): boolean => it.enqueuedAt >= o.warmupMs;
  let deviceFreeAt = 0;
  let sch!: DeviceScheduler;
  const { lane } = fakeLane({
    batchSize: o.plan ?? 4,
    maxBatchSize: o.max ?? 12,
    launchWhenIdle: false,
    arrivalsPerMs: 2,
    runMs: latencyMs,
    latencyMs: (_d, n) => {
      out.plans++;
      return latencyMs(n);
    },
    freeAt: () => sch,
    drop: (it, now) => {
      if (!counts(it)) return;
      out.rejected++;
      // As the bench counts: a request submitted before its deadline and rejected more than 5 ms after it.
      if (it.enqueuedAt <= it.deadline && now > it.deadline + TOLERANCE_MS) out.lateRejected++;
    },
    run: (items, _device, _startedAt, done) => {
      // The worker runs held batches back to back; the host hears of each `hostDelayMs` after it ended.
      const end = Math.max(clock.now(), deviceFreeAt) + latencyMs(items.length);
      deviceFreeAt = end;
      out.batches++;
      timers.at(end + o.hostDelayMs, () => {
        for (const it of items) {
          if (!counts(it)) continue;
          out.served++;
          if (clock.now() > it.deadline + TOLERANCE_MS) out.late++;
        }
        done.batchEnded(undefined);
      });
    },
  });
  sch = new DeviceScheduler({
    device: { id: 'd0' } as DeviceHandle,
    clock,
    timers,
    onDispatch: () => undefined,
    ...(o.hostDelayQuantile === undefined ? {} : { hostDelayQuantile: o.hostDelayQuantile }),
  });
  sch.attach(lane);
  // Two requests per 0.5 ms (4 000/s, ~3× the device's best rate), deadlines alternating 10 and 25 ms. Every
  // `pauseEveryMs` the host thread stops for `pauseMs` (a garbage collection): the device runs on, while
  // arrivals, timers and completions wait; the requests that arrived meanwhile are submitted when it resumes,
  // with the deadlines they had.
  const pending: { at: number; sloMs: number }[] = [];
  for (let t = 0; t < o.durationMs; t += STEP_MS) {
    if (Math.round(t / STEP_MS) % Math.round((o.gapMs ?? 0.5) / STEP_MS) === 0) for (const sloMs of [10, 25]) pending.push({ at: t, sloMs });
    const paused = o.pauseEveryMs !== undefined && t % o.pauseEveryMs >= o.pauseEveryMs - (o.pauseMs ?? 0);
    if (paused) {
      clock.set(t + STEP_MS);
      continue;
    }
    for (const a of pending) {
      const item = fakeItem(a.at + a.sloMs, { enqueuedAt: t });
      lane.queue.push(item);
      // As the executor's instances report an arrival (O(1) on a saturated device), or one pump for all.
      if (o.arrivals === 'arrived') sch.arrived(lane, item);
    }
    if (pending.length > 0 && o.arrivals !== 'arrived') sch.pump();
    pending.length = 0;
    timers.advance(t + STEP_MS - clock.now());
    await flush();
  }
  sch.close();
  return out;
}

describe('DeviceScheduler: late service', () => {
  it("hands a batch's outputs to its callers before it prepares the next batch", async () => {
    // Preparing a batch (stacking its inputs, posting it) takes the host 3 ms here. The callers of a batch that
    // ended must see their outputs when it ended: the next batch's preparation is not theirs to wait for (it
    // was, by the whole pump after the end, and no learned guard counted it: served later than planned).
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const seen: number[] = [];
    const ended: (() => void)[] = [];
    let sch!: DeviceScheduler;
    const { lane } = fakeLane({
      batchSize: 2,
      freeAt: () => sch,
      run: (items, _device, _startedAt, done) => {
        clock.set(clock.now() + 3);
        ended.push(() => {
          for (const it of items) it.settle(undefined, {}, { startedAt: 0, finishedAt: clock.now(), batchSize: items.length, deviceId: 'd0' });
          done.batchEnded(10);
        });
      },
    });
    sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    sch.attach(lane);
    for (let i = 0; i < 6; i++) {
      let resolve!: () => void;
      void new Promise<void>((r) => (resolve = r)).then(() => seen.push(clock.now()));
      lane.queue.push(fakeItem(1e9, { settle: () => resolve() }));
    }
    sch.pump();
    // One batch running, one sent ahead; the third waits for the first to end.
    expect(ended).toHaveLength(2);
    clock.set(20);
    ended[0]!();
    await flush();
    expect(seen).toEqual([20, 20]);
    // The next batch went to the device right after (prepared from 20 to 23).
    expect(ended).toHaveLength(3);
    expect(clock.now()).toBe(23);
  });

  it('serves nothing late under a 3× overload when the host sees every completion 8 ms late, and rejects by the deadline', async () => {
    const o = await overload({ hostDelayMs: 8, durationMs: 1200, warmupMs: 200 });
    expect(o.late).toBe(0);
    expect(o.lateRejected).toBe(0);
    // Still serving near the device's best rate (1.5 items/ms at batch 12 over the 1 000 ms counted).
    expect(o.served).toBeGreaterThan(1200);
  });

  it('rejects rather than launches alone a request the typical host delay makes late, without a backlog', async () => {
    // A pair every 3 ms (a third of the device's rate): the device is often idle, so there is no backlog batch
    // to prefer. A 10 ms request launched alone would be seen 2.5 + 8 ms after its start: more likely late than
    // not. (Launched at once at its latest start, 54 of 481 served were seen over 5 ms late.)
    const o = await overload({ hostDelayMs: 8, durationMs: 1500, warmupMs: 200, gapMs: 3 });
    expect(o.late).toBe(0);
    expect(o.lateRejected).toBe(0);
    // Every 25 ms request is still served (one per 3 ms over 1 300 ms counted).
    expect(o.served).toBeGreaterThanOrEqual(425);
    // At 15 ms of host delay and a pair every 5 ms: 78 of 84 were served late; now none, and more on time.
    const slow = await overload({ hostDelayMs: 15, durationMs: 1500, warmupMs: 200, gapMs: 5 });
    expect(slow.late).toBe(0);
    expect(slow.served).toBeGreaterThan(100);
  });

  it('keeps late service rare when the host stalls 20 ms every 150 ms (a garbage collection), learning the stall for every batch size', async () => {
    // A stall delays whichever batch is ending, of any size: learned per size class, the margin of the size that
    // ran through the last stalls stayed small for the others (21 of 1 233 served late); learned once for all
    // sizes, beside the compute error per size, it covers them.
    const o = await overload({ hostDelayMs: 1, durationMs: 1500, warmupMs: 200, pauseEveryMs: 150, pauseMs: 20 });
    expect(o.late / o.served).toBeLessThan(0.01);
    expect(o.served).toBeGreaterThan(1000);
  });

  it('serves late what those stalls delay when the launch margin keeps a lower quantile of the host-side delay', async () => {
    // Why the default is the 98th percentile: a stall that delays fewer than one batch in ten is below the 90th
    // percentile and the median, and the batches it delays end late.
    // Served late of served, seeds as above: 0.98 (the default) under 1 %; 0.9, 95 of 1 672; 0.5, 96 of 1 823.
    const stalls = { hostDelayMs: 1, durationMs: 1500, warmupMs: 200, pauseEveryMs: 150, pauseMs: 20 };
    const byDefault = await overload(stalls);
    expect(byDefault.late / byDefault.served).toBeLessThan(0.01);
    for (const hostDelayQuantile of [0.9, 0.5]) {
      const o = await overload({ ...stalls, hostDelayQuantile });
      expect(o.late / o.served).toBeGreaterThan(0.04);
      expect(o.late).toBeGreaterThan(5 * byDefault.late);
    }
  });

  it('arrivals on a saturated device skip planning (only the expiry wake-up moves) and keep the same guarantees', async () => {
    const pumped = await overload({ hostDelayMs: 8, durationMs: 1200, warmupMs: 200 });
    const arrived = await overload({ hostDelayMs: 8, durationMs: 1200, warmupMs: 200, arrivals: 'arrived' });
    expect(arrived.late).toBe(0);
    expect(arrived.lateRejected).toBe(0);
    expect(arrived.served).toBeGreaterThan(1200);
    // Two arrivals per pump here, each planned alone unless the device is saturated: still less planning. (Run-time
    // estimates for the same 1 408 served: 7 849 with a pump per arrival pair, 5 553 with arrivals; 59 410 and
    // 8 373 when a pump or a wake-up on a full device still planned in full.)
    expect(arrived.plans).toBeLessThan(pumped.plans);
  });

  it('with a prompt host serves at the device\'s best rate and nothing late', async () => {
    const o = await overload({ hostDelayMs: 0.1, durationMs: 1200, warmupMs: 200 });
    expect(o.late).toBe(0);
    expect(o.lateRejected).toBe(0);
    expect(o.served).toBeGreaterThan(1400);
  });
});
