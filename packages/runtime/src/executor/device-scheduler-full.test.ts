import { describe, expect, it, vi } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import * as scheduling from '@epara/core/scheduling';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

// Counts the scheduler's planning passes: a full plan (`planLaunch`) or the drops and expiry alone (`planExpiry`).
vi.mock('@epara/core/scheduling', async (importOriginal) => {
  const m = await importOriginal<typeof import('@epara/core/scheduling')>();
  return { ...m, planLaunch: vi.fn(m.planLaunch), planExpiry: vi.fn(m.planExpiry) };
});

const planLaunch = vi.mocked(scheduling.planLaunch);
const planExpiry = vi.mocked(scheduling.planExpiry);

/** A scheduler on a manual clock and timers with one lane (batches of 2, 10 ms), recording launches and drops. */
function setup() {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const launches: number[][] = [];
  const dropped: number[] = [];
  const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: (d) => void launches.push(d.items.map((i) => i.deadline)) });
  const { lane, finish } = fakeLane({ batchSize: 2, runMs: 10, launchWhenIdle: false, freeAt: () => sch, drop: (i: WorkItem) => void dropped.push(i.deadline) });
  sch.attach(lane);
  const arrive = (deadline: number, key = 'a'): void => {
    const item = fakeItem(deadline, { key });
    lane.queue.push(item);
    sch.arrived(lane, item);
  };
  planLaunch.mockClear();
  planExpiry.mockClear();
  return { clock, timers, sch, lane, finish, launches, dropped, arrive };
}

describe('DeviceScheduler: a full device', () => {
  it('plans only the drops and the expiry once a batch is sent ahead, rejecting at once what that batch made hopeless', async () => {
    const { timers, sch, lane, finish, launches, dropped, arrive } = setup();
    arrive(100);
    arrive(100); // a full batch: launches on the idle device, ends at 10
    arrive(29, 'b'); // another key: it cannot join the batches of the others
    arrive(28);
    expect(launches).toEqual([[100, 100]]);
    const before = planLaunch.mock.calls.length;
    arrive(25); // with 28, a full batch: sent ahead, to run from 10 to 20
    expect(launches).toEqual([[100, 100], [25, 28]]);
    // The arrival planned once (and sent the batch); the pass after it, on the full device, only the drops and the
    // expiry: the item due at 29 can start only at 20 now, and needs 10 ms — rejected at once, not at its expiry.
    expect(planLaunch.mock.calls.length).toBe(before + 1);
    expect(planExpiry.mock.calls.length).toBe(1);
    expect(dropped).toEqual([29]);

    // An arrival on the full device plans nothing: it only sets the wake-up at its expiry (39 − 10).
    arrive(39);
    arrive(200);
    expect(planLaunch.mock.calls.length).toBe(before + 1);
    expect(planExpiry.mock.calls.length).toBe(1);
    // A pump from outside (another lane's batch ended, say) while the device stays full sizes no batch either.
    sch.pump();
    expect(planLaunch.mock.calls.length).toBe(before + 1);
    expect(planExpiry.mock.calls.length).toBe(2);
    timers.advance(28.9);
    expect(dropped).toEqual([29]);
    // The wake-up rejects it by its deadline, planning the drops and the expiry alone (the device is still full).
    timers.advance(0.2);
    expect(dropped).toEqual([29, 39]);
    expect(lane.queue.items.map((i) => i.deadline)).toEqual([200]);
    expect(planLaunch.mock.calls.length).toBe(before + 1);
    expect(planExpiry.mock.calls.length).toBe(3);

    // A batch ends: the device can take a launch again, and plans in full.
    const planned = planLaunch.mock.calls.length;
    finish[0]!();
    await Promise.resolve();
    expect(planLaunch.mock.calls.length).toBeGreaterThan(planned);
    expect(planExpiry.mock.calls.length).toBe(3);
  });
});
