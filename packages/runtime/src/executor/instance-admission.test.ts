import { describe, expect, it } from 'vitest';
import { affineProfile, isEparaError } from '@epara/core';
import { InstanceAdmission } from './instance-admission.js';
import { HoldCorrections } from './hold-corrections.js';
import type { InstanceSizing } from './instance-sizing.js';
import type { InstanceCounters } from './instance-context.js';

/** An admission over an empty queue on one idle device, the model taking 10 ms alone as profiled. */
function setup() {
  const profile = affineProfile('cpu-1t', { fixedMs: 8, perItemMs: 2, maxBatch: 8 });
  const sizes = { batchSize: 4, maxBatchSize: 8 };
  const corrections = new HoldCorrections();
  const counters: InstanceCounters = { submitted: 0, completed: 0, dropped: 0, failed: 0, batches: 0, batchedItems: 0 };
  const events: unknown[] = [];
  const admission = new InstanceAdmission({
    instanceId: 'i',
    serviceId: 's',
    counters,
    emit: (_event, ...args) => events.push(args[0]),
    listening: () => true,
    queue: { items: [] },
    sizing: { sizes: () => sizes } as unknown as InstanceSizing,
    corrections,
    deviceIds: ['d'],
    profile: () => profile,
    earliestStart: (now) => now,
  });
  return { admission, corrections, profile, counters, events };
}

describe('InstanceAdmission', () => {
  it('admits what an idle device can finish in time and refuses, counted and reported, what it cannot', () => {
    const { admission, counters, events } = setup();
    expect(admission.admit(1000 + 12, 0, 1, 1000)).toBeUndefined();
    const refused = admission.admit(1000 + 9, 0, 1, 1000);
    expect(isEparaError(refused) && refused.code).toBe('DEADLINE_EXCEEDED');
    expect(counters.dropped).toBe(1);
    expect(events).toEqual([expect.objectContaining({ code: 'DEADLINE_EXCEEDED', atAdmission: true, instanceId: 'i' })]);
  });

  it('follows a faster device once its correction changes (figures recomputed, not kept from before)', () => {
    const { admission, corrections, profile } = setup();
    expect(admission.admit(1000 + 9, 0, 1, 1000)).toBeDefined();
    // Batches alone ran at half the profiled time: the optimistic figures take the faster device.
    for (let i = 0; i < 10; i++) corrections.observe(profile, 'd', 1, 5, 2000);
    expect(corrections.of('d', 1, 2000)).toBeLessThan(0.6);
    expect(admission.admit(2000 + 9, 0, 1, 2000)).toBeUndefined();
  });
});
