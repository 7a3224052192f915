import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';
import { eventTimers } from '../testing/event-timers.js';
import { DeviceScheduler } from './device-scheduler.js';
import { estimateCompletion } from './estimate-completion.js';

// A shared device in virtual time, deterministic (a pure function of the seed): requests with a 100 ms budget
// (10 ms each, Poisson, 55% of the device) beside stream frames with a 30 ms budget (4 ms each, one every
// 10 ms: 40% of it), run in earliest-deadline order. A host routes each request here only when the executor's
// estimate lands by its deadline (as the mesh does), else sends it elsewhere. Frames arriving while a request
// waits are due first and go ahead of it: an estimate that counts only the queue at the moment of the decision
// admits requests that then expire (on the demo's image server, 15–16% of the images admitted there).

const REQUEST_MS = 10;
const FRAME_MS = 4;
const REQUEST_SHARE = 0.55;
const REQUEST_BUDGET_MS = 100;
const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

async function sharedDevice(o: { seed: number; durationMs: number; budgets: boolean }): Promise<{ admitted: number; expired: number; refused: number }> {
  const clock = createManualClock(0);
  const timers = eventTimers(clock);
  const random = createSeededRandom(o.seed);
  const out = { admitted: 0, expired: 0, refused: 0 };
  let deviceFreeAt = 0;
  let sch!: DeviceScheduler;
  // The device runs one launch after another; a launch's outputs reach the host when it ends.
  const run = (ms: number) => (items: WorkItem[], _device: unknown, _startedAt: number, done: { batchEnded(runMs: number | undefined): void }) => {
    const end = Math.max(clock.now(), deviceFreeAt) + ms * items.length;
    deviceFreeAt = end;
    timers.at(end, () => {
      for (const it of items) it.settle(undefined, {}, { startedAt: 0, finishedAt: clock.now(), batchSize: items.length, deviceId: 'd0' });
      done.batchEnded(ms * items.length);
    });
  };
  const requests = fakeLane({
    id: 'r',
    serviceId: 'r',
    batchSize: 1,
    runMs: REQUEST_MS,
    freeAt: () => sch,
    loadShare: () => REQUEST_SHARE,
    ...(o.budgets ? { deadlineBudgetMs: REQUEST_BUDGET_MS } : {}),
    drop: (item) => item.settle(new Error('expired') as never),
    run: run(REQUEST_MS),
  }).lane;
  const frames = fakeLane({
    id: 'f',
    serviceId: 'f',
    batchSize: 1,
    runMs: FRAME_MS,
    freeAt: () => sch,
    loadShare: () => FRAME_MS / 10,
    ...(o.budgets ? { deadlineBudgetMs: 30 } : {}),
    drop: (item) => item.settle(new Error('stale') as never),
    run: run(FRAME_MS),
  }).lane;
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
  sch.attach(requests);
  sch.attach(frames);
  const advance = async (to: number): Promise<void> => {
    while (timers.nextAt() <= to) {
      timers.fireNext();
      await flush();
    }
    if (clock.now() < to) clock.set(to);
  };
  const perMs = REQUEST_SHARE / REQUEST_MS;
  let nextRequest = -Math.log(1 - random.next()) / perMs;
  for (let frameAt = 0; frameAt < o.durationMs; frameAt += 10) {
    for (; nextRequest < frameAt; nextRequest += -Math.log(1 - random.next()) / perMs) {
      await advance(nextRequest);
      const now = clock.now();
      const deadline = now + REQUEST_BUDGET_MS;
      if (estimateCompletion(requests, [sch], now) > deadline) {
        out.refused++;
        continue;
      }
      out.admitted++;
      const item = fakeItem(deadline, { serviceId: 'r', enqueuedAt: now, settle: (err) => void (err !== undefined || clock.now() > deadline ? out.expired++ : undefined) });
      requests.queue.push(item);
      sch.arrived(requests, item, now);
    }
    await advance(frameAt);
    const frame = fakeItem(frameAt + 30, { serviceId: 'f', enqueuedAt: frameAt, frame: true });
    frames.queue.push(frame);
    sch.arrived(frames, frame, frameAt);
  }
  await advance(o.durationMs + 1000);
  sch.close();
  return out;
}

describe('the completion estimate on a device shared with more urgent work (virtual time)', () => {
  it('counts the frames that will arrive while a request waits and go ahead of it, so that what it admits makes its deadline', async () => {
    // Seed 7, 20 s. Without deadline budgets (the estimate as it was: the queue at the decision only) 1 069
    // requests were admitted and 33 of them expired; with them, 1 036 admitted and none expired — the 33 were
    // sent elsewhere at arrival instead, and as many were served here in time.
    const before = await sharedDevice({ seed: 7, durationMs: 20_000, budgets: false });
    const after = await sharedDevice({ seed: 7, durationMs: 20_000, budgets: true });
    expect(before.expired).toBeGreaterThanOrEqual(0.02 * before.admitted);
    expect(after.expired).toBeLessThanOrEqual(0.002 * after.admitted);
    expect(after.admitted - after.expired).toBeGreaterThanOrEqual(before.admitted - before.expired);
    expect(after.refused).toBeGreaterThan(before.refused);
  });
});
