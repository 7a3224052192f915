import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle } from '../devices/device-port.js';
import { DeviceScheduler } from './device-scheduler.js';

/**
 * The set-up of the device scheduler's case files (`device-scheduler-*.cases.test.ts`): a manual clock, timers whose
 * armed moments are recorded in `armed`, and `make()`, which builds a scheduler on device d0 (after the case has
 * made its lanes); `fireAt(at)` moves the clock to `at` and fires the timers due by then; `freeAt()` is the
 * scheduler made last.
 */
export function schedulerCase() {
  const clock = createManualClock(0);
  const manual = createManualTimers(clock);
  const armed: number[] = [];
  const timers = { ...manual, at: (when: number, fn: () => void) => (armed.push(when), manual.at(when, fn)) };
  let sch!: DeviceScheduler;
  const make = (): DeviceScheduler => (sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined }));
  const fireAt = (at: number): void => {
    clock.set(at);
    manual.fire(at);
  };
  return { armed, fireAt, freeAt: () => sch, make };
}
