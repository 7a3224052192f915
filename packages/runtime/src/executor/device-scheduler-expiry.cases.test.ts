import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * While a batch runs and nothing can be sent ahead, the scheduler sleeps until the earliest expiry over every lane:
 * the first lane's, when it expires first, not the last lane's.
 */

describe('DeviceScheduler: the wake-up of a busy device over several lanes', () => {
  it('is armed for the earliest expiry of any lane, whichever lane comes last', () => {
    const clock = createManualClock(0);
    const manual = createManualTimers(clock);
    const armed: number[] = [];
    const timers = { ...manual, at: (when: number, fn: () => void) => (armed.push(when), manual.at(when, fn)) };
    const sch: DeviceScheduler = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    const early = fakeLane({ id: 'early', runMs: 10, freeAt: () => sch });
    const late = fakeLane({ id: 'late', runMs: 10, freeAt: () => sch });
    sch.attach(early.lane);
    sch.attach(late.lane);
    // A full batch of the first lane runs (0–10).
    early.lane.queue.push(fakeItem(1000));
    early.lane.queue.push(fakeItem(1000));
    sch.pump();
    expect(early.finish).toHaveLength(1);
    // One item each, neither a full batch to send ahead: the first lane's is due at 300, the second's at 500.
    early.lane.queue.push(fakeItem(300));
    late.lane.queue.push(fakeItem(500));
    armed.length = 0;
    sch.pump();
    expect(early.finish).toHaveLength(1);
    expect(late.finish).toHaveLength(0);
    expect(armed.length).toBeGreaterThan(0);
    const wake = Math.min(...armed);
    expect(wake).toBeLessThan(300);
    expect(wake).toBeGreaterThan(250);
  });
});
