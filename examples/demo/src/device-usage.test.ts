import { describe, expect, it } from 'vitest';
import { DeviceUsageLog, SKIP_FIRST_BATCHES, deviceUsageRows, sumDeviceUsage } from './device-usage.js';

/** A clock whose readings the test sets: wall, device busy and event-loop active time, ms. */
function fakeClock(): { at: number; busy: number; loop: number; now(): number; deviceBusyMs(): number; loopActiveMs(): number } {
  return {
    at: 1000,
    busy: 0,
    loop: 0,
    now() {
      return this.at;
    },
    deviceBusyMs() {
      return this.busy;
    },
    loopActiveMs() {
      return this.loop;
    },
  };
}

describe('DeviceUsageLog (where a node spent its device and event-loop time)', () => {
  it('takes differences of the cumulative readings and counts each service from the executor events', () => {
    const clock = fakeClock();
    clock.busy = 500; // before the log: not this run's
    clock.loop = 700;
    const log = new DeviceUsageLog(clock);
    log.dispatched({ serviceId: 'image', size: 4, expectedMs: 36, profileMs: 18 });
    log.completed({ serviceId: 'image', size: 4, runMs: 27, ok: true });
    log.completed({ serviceId: 'image', size: 2, runMs: 0, ok: false });
    log.settled({ serviceId: 'image', enqueuedAt: 100, startedAt: 130 });
    log.settled({ serviceId: 'image', enqueuedAt: 100 }); // dropped before running: no wait counted
    clock.at += 1000;
    clock.busy += 400;
    clock.loop += 600;
    const u = log.take();
    // The first batch of the node's first session is not steady (see the last test).
    expect(u).toEqual({ wallMs: 1000, busyMs: 400, loopBusyMs: 600, services: { image: { batches: 1, items: 4, runMs: 27, profileMs: 18, expectedMs: 36, waitsMs: [30], steadyItems: 0, steadyProfileMs: 0, steadyExpectedMs: 0 } } });
    // The next take starts from the last readings.
    clock.at += 500;
    expect(log.take()).toEqual({ wallMs: 500, busyMs: 0, loopBusyMs: 0, services: {} });
  });

  it('sums node by node and lays out shares of the run, run against profile and queue waits', () => {
    const clock = fakeClock();
    const log = new DeviceUsageLog(clock);
    log.dispatched({ serviceId: 'vad', size: 3, expectedMs: 30, profileMs: 10 });
    log.completed({ serviceId: 'vad', size: 3, runMs: 20, ok: true });
    for (const w of [1, 2, 3, 40]) log.settled({ serviceId: 'vad', enqueuedAt: 0, startedAt: w });
    clock.at += 1000;
    clock.busy = 100;
    clock.loop = 250;
    const one = log.take();
    const [summed] = sumDeviceUsage([[one], [one]]);
    expect(summed).toMatchObject({ wallMs: 2000, busyMs: 200, loopBusyMs: 500, services: { vad: { batches: 2, items: 6, runMs: 40, profileMs: 20, expectedMs: 60 } } });
    expect(deviceUsageRows([summed!], ['edge-0'])).toEqual([
      ['node', 'service', 'device busy', 'event loop busy', 'items', 'mean batch', 'run ÷ profile', 'estimate ÷ profile', 'queue wait p50/p90 ms'],
      ['edge-0', '(all)', '10.0%', '25.0%', '', '', '', '', ''],
      // Run time against the profile itself, not against the executor's learned estimate (3× the profile here).
      ['edge-0', 'vad', '2.0%', '', '6', '3.00', '2.00×', '3.00×', '2/40'],
      // Busy time outside the services' batches: generation steps and the hand-offs around each run.
      ['edge-0', 'steps and hand-offs', '8.0%', '', '', '', '', '', ''],
    ]);
  });

  it('leaves the first batches of each instance session out of the steady counts, across takes', () => {
    const log = new DeviceUsageLog(fakeClock());
    log.loaded('image');
    const batch = { serviceId: 'image', size: 2, profileMs: 10 };
    for (let i = 0; i < SKIP_FIRST_BATCHES; i++) log.dispatched({ ...batch, expectedMs: 140 }); // cold: 14× the profile
    expect(log.take().services['image']).toMatchObject({ expectedMs: 140 * SKIP_FIRST_BATCHES, steadyItems: 0, steadyExpectedMs: 0 });
    log.dispatched({ ...batch, expectedMs: 30 });
    log.dispatched({ ...batch, expectedMs: 30 });
    expect(log.take().services['image']).toMatchObject({ steadyItems: 4, steadyProfileMs: 20, steadyExpectedMs: 60 });
    // Reloaded (a new plan): a new session, whose first batches are left out again.
    log.loaded('image');
    log.dispatched({ ...batch, expectedMs: 90 });
    expect(log.take().services['image']).toMatchObject({ steadyItems: 0 });
  });
});
