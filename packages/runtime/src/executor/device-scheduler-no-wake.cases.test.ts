import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import { DeviceScheduler } from './device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';

/*
 * A wake-up is armed only for a moment that comes: with nothing that can expire or be given up on, the scheduler arms
 * no platform timer (one at +∞ would hold a timer for nothing, and pass for a wake-up already set).
 */

describe('DeviceScheduler: no wake-up for nothing', () => {
  it('arms no timer while nothing is queued, a batch running or not', () => {
    const clock = createManualClock(0);
    const manual = createManualTimers(clock);
    const armed: number[] = [];
    const timers = { ...manual, at: (when: number, fn: () => void) => (armed.push(when), manual.at(when, fn)) };
    let sch!: DeviceScheduler;
    const { lane, finish } = fakeLane({ batchSize: 1, runMs: 10, freeAt: () => sch });
    sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
    sch.attach(lane);
    sch.pump();
    expect(armed).toEqual([]);
    // A batch whose item is never given up on (no deadline) runs, and the queue is empty behind it.
    lane.queue.push(fakeItem(Number.POSITIVE_INFINITY));
    sch.pump();
    expect(finish).toHaveLength(1);
    sch.pump();
    expect(armed.filter((at) => !Number.isFinite(at))).toEqual([]);
  });
});
