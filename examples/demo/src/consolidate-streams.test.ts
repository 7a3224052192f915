import { describe, expect, it } from 'vitest';
import { consolidateStreams } from './consolidate-streams.js';
import { deviceShares } from './local-replicas.js';
import { DEVICE_MEMORY_BYTES, ITEM_BYTES, nodeIds, planPlacement } from './placement.js';
import { QUIET_DELAYS_MS, QUIET_SPECS } from './quiet-run-fixture.js';
import { buildWorkload } from './workload.js';

describe('consolidateStreams', () => {
  const ids = nodeIds(3);
  const workload = buildWorkload({ durationMs: 10_000, load: 2.83, nodes: 3, seed: 42, world: 'edge' });
  const placed = planPlacement(QUIET_SPECS, workload, 3, QUIET_DELAYS_MS, 125_000).instances;
  const ratio = 2.7;
  const costRatio = { image: ratio, chat: ratio, video: ratio, loop: ratio, vad: ratio };
  const context = { specs: QUIET_SPECS, workload, ids, delaysMs: QUIET_DELAYS_MS, bytesPerMs: 125_000, itemBytes: ITEM_BYTES, deviceMemoryBytes: DEVICE_MEMORY_BYTES, maxShare: 0.85 };
  const streams = (xs: readonly { serviceId: string }[]): number => xs.filter((p) => ['video', 'loop', 'vad'].includes(p.serviceId)).length;

  it('drops stream replicas while the device time falls, keeping one of each service and the busiest device no busier', () => {
    const c = { ...context, handoffMs: 9.9, costRatio };
    const out = consolidateStreams(placed, c);
    expect(streams(out)).toBeLessThan(streams(placed));
    for (const id of ['video', 'loop', 'vad']) expect(out.some((p) => p.serviceId === id)).toBe(true);
    // Only stream replicas go; every other instance stays as it was.
    expect(out.filter((p) => !['video', 'loop', 'vad'].includes(p.serviceId))).toEqual(placed.filter((p) => !['video', 'loop', 'vad'].includes(p.serviceId)));
    const before = deviceShares(placed, c);
    const after = deviceShares(out, c);
    expect(after.reduce((a, b) => a + b, 0)).toBeLessThan(before.reduce((a, b) => a + b, 0));
    expect(Math.max(...after)).toBeLessThanOrEqual(Math.max(0.85, ...before) + 1e-9);
  });

  it('keeps every replica without a measured hand-off (at the profiles a replica costs only the frames it serves)', () => {
    expect(consolidateStreams(placed, context)).toEqual(placed);
  });
});
