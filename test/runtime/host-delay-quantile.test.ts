import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor } from '@epara/runtime';
import { doubler, flat, item } from './helpers.js';

// The executor's `hostDelayQuantile` reaches each device's learned margin. A manual clock: the host "hears" every
// answer 1 ms after the predicted 4 ms run, and 40 ms after it one batch in ten (a host thread that stalls now and
// then); the margin a launch keeps (it is in `estimate`) is the host-side delay's 98th percentile by default, its
// median with `hostDelayQuantile: 0.5`.

async function learnedMarginMs(hostDelayQuantile: number | undefined): Promise<number> {
  const clock = createManualClock(1_000);
  const ex = createExecutor({
    backend: { kind: 'fake' },
    clock,
    timers: createManualTimers(),
    adaptLatency: false,
    launchWhenIdle: true,
    guardMs: 0,
    ...(hostDelayQuantile === undefined ? {} : { hostDelayQuantile }),
    devices: [{ id: 'd0' }],
    services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, profile: flat(4), plan: { batchSize: 1 }, maxBatch: 1, devices: ['d0'] }],
  });
  try {
    await ex.start();
    const idle = ex.estimate('s')!.completionAt - clock.now();
    for (let i = 0; i < 50; i++) {
      const answer = ex.submit('s', item(i));
      // Launched at once on the idle device; the host reads the clock when the answer reaches it.
      clock.advance(4 + (i % 10 === 0 ? 40 : 1));
      await answer;
    }
    return ex.estimate('s')!.completionAt - clock.now() - idle;
  } finally {
    await ex.close();
  }
}

describe('executor: hostDelayQuantile', () => {
  it("keeps the learned host-side delay's 98th percentile in each launch's margin by default, and the quantile it is given", async () => {
    expect(await learnedMarginMs(undefined)).toBe(40);
    expect(await learnedMarginMs(0.98)).toBe(40);
    expect(await learnedMarginMs(0.5)).toBe(1);
  });
});
