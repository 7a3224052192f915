import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, type Executor } from '@epara/runtime';
import { doubler, flat, item } from './helpers.js';

// A device whose batches hold it three times their profiled 10 ms (the manual clock moves 30 ms per batch): the
// capacity streams are admitted against and requests are routed by follows what the batches really take, as
// every estimate does.

describe('executor: capacity at the learned device hold time', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  const setUp = (adaptLatency: boolean, plan: { batchSize: number; capacityPerSec?: number } = { batchSize: 1 }, maxBatch = 1) => {
    const clock = createManualClock(1000);
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers: createManualTimers(clock),
      adaptLatency,
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, profile: flat(10), plan, maxBatch, devices: ['d0'] }],
    });
    ex.on('batchDispatched', () => clock.advance(30));
    return { clock, ex };
  };

  it('falls to what the batches really hold the device for', async () => {
    const { ex } = setUp(true);
    await ex.start();
    expect(ex.instances()[0]!.capacityPerSec).toBeCloseTo(100, 6); // the profile's 10 ms per item
    for (let i = 0; i < 20; i++) await ex.submit('s', item(i));
    // Each batch held the device 30 ms: the correction (EWMA, weight 0.2) is within 2 % of 3 after 20 of them.
    const capacity = ex.instances()[0]!.capacityPerSec;
    expect(capacity).toBeGreaterThan(100 / 3);
    expect(capacity).toBeLessThan(100 / (3 - 2 * 0.8 ** 17));
  });

  it("scales a plan's declared capacity the same way", async () => {
    // Core's plans declare the figure they computed from the profile (here 80/s, as a host may round it down);
    // a batched service (maxBatch 1 would run unbatched, whose capacity is one item per run whatever the plan).
    const { ex } = setUp(true, { batchSize: 1, capacityPerSec: 80 }, 8);
    await ex.start();
    expect(ex.instances()[0]!.capacityPerSec).toBeCloseTo(80, 6);
    for (let i = 0; i < 20; i++) await ex.submit('s', item(i));
    const capacity = ex.instances()[0]!.capacityPerSec;
    expect(capacity).toBeGreaterThan(80 / 3);
    expect(capacity).toBeLessThan(80 / (3 - 2 * 0.8 ** 17));
  });

  it('stays at the profile without learning (adaptLatency: false)', async () => {
    const { ex } = setUp(false);
    await ex.start();
    for (let i = 0; i < 5; i++) await ex.submit('s', item(i));
    expect(ex.instances()[0]!.capacityPerSec).toBeCloseTo(100, 6);
  });
});
