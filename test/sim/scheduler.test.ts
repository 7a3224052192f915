import { edgeMix, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const cluster = { groups: [{ preset: 'gpu-server', count: 2 }, { preset: 'jetson', count: 2 }, { preset: 'micro', count: 2 }] } as const;

describe("the simulator drives core's request scheduler", () => {
  it('serves nothing late where its estimates are exact: what cannot make its deadline is dropped, not run late', () => {
    // Exact estimates: no contention on the way back, no interference; only LLM answers can outrun the profile.
    const world = { network: { contention: false }, interference: 0 } as const;
    for (const scale of [3, 8]) {
      const r = simulate({ seed: 6, durationMs: 12_000, warmupMs: 2000, drainMs: 25_000, cluster, ...world, workload: edgeMix({ scale, kind: 'latency', chatTrace: false, durationMs: 12_000 }), system: { kind: 'epara' } });
      expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
      expect(r.total.drops.UNFINISHED ?? 0).toBe(0);
      expect(r.total.good).toBeGreaterThan(0);
      for (const [id, v] of Object.entries(r.perService)) if (id !== 'llm-chat') expect([id, v.late]).toEqual([id, 0]);
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
