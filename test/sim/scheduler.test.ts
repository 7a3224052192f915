import { edgeMix, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const cluster = { groups: [{ preset: 'gpu-server', count: 2 }, { preset: 'jetson', count: 2 }, { preset: 'micro', count: 2 }] } as const;

describe("the simulator drives core's request scheduler", () => {
  it('serves almost nothing late: items that cannot make their deadline are dropped, not run late', () => {
    const base: Scenario = { seed: 6, durationMs: 12_000, warmupMs: 2000, drainMs: 25_000, cluster, workload: edgeMix({ scale: 3, kind: 'latency', durationMs: 12_000 }), system: { kind: 'epara' } };
    for (const scenario of [base, { ...base, workload: edgeMix({ scale: 8, kind: 'latency', durationMs: 12_000 }) }]) {
      const r = simulate(scenario);
      expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
      expect(r.total.drops.UNFINISHED ?? 0).toBe(0);
      expect(r.total.good).toBeGreaterThan(0);
      // Lateness can only come from after the device (the answer's contended way back), which the launch rule cannot see.
      expect(r.total.late / Math.max(1, r.total.good + r.total.late)).toBeLessThan(0.02);
    }
  });

  it('learns the error of its estimates: with the learned guard off, no more items are on time', () => {
    const base: Scenario = { seed: 7, durationMs: 12_000, warmupMs: 2000, cluster, workload: edgeMix({ scale: 4, durationMs: 12_000, chatTrace: false }), system: { kind: 'epara' } };
    const learned = simulate(base);
    const fixed = simulate({ ...base, system: { kind: 'epara', learnedGuard: false } });
    expect(learned.total.offered).toBe(fixed.total.offered);
    expect(learned.total.late).toBeLessThanOrEqual(fixed.total.late);
  });
});
