import { edgeMix, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const cluster = { groups: [{ preset: 'gpu-server', count: 4 }, { preset: 'jetson', count: 4 }, { preset: 'micro', count: 4 }] } as const;

describe('EPARA on a frequency-only mix near its capacity', () => {
  it('keeps hci frames fresh with packs sized for the pinned rate and a learned guard per batch size', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 12, kind: 'frequency', durationMs: 12_000 }) };
    const now = simulate({ ...base, system: { kind: 'epara' } });
    const before = simulate({ ...base, system: { kind: 'epara', ratePacks: false, learnedGuardBySize: false, fillAwareWait: false } });
    const planPacks = simulate({ ...base, system: { kind: 'epara', ratePacks: false } });
    const pooled = simulate({ ...base, system: { kind: 'epara', learnedGuardBySize: false } });
    const hci = (r: typeof now): number => r.perService['hci']!.sloAttainment;
    expect(now.total.offered).toBe(before.total.offered);
    // (Measured: hci 0.47 now, 0.05 before, 0.23 with the plan's packs, 0.30 with a pooled guard; 20 s runs reach 0.79.)
    // Before: packs sized for the zone's rate and one pooled guard learned from batches of one → hci packs of one.
    expect(hci(before)).toBeLessThan(0.1);
    expect(hci(now)).toBeGreaterThan(0.4);
    // Each change alone pays.
    expect(hci(now)).toBeGreaterThan(hci(planPacks));
    expect(hci(now)).toBeGreaterThan(hci(pooled));
    expect(now.total.goodputPerSec).toBeGreaterThan(1.4 * before.total.goodputPerSec);
  });
});

describe('EPARA waits to fill a batch only when its arrivals will fill it', () => {
  it('spends less of the items\' slack waiting: more classify and image requests on time at light load', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 4, durationMs: 12_000 }) };
    const fill = simulate({ ...base, system: { kind: 'epara' } });
    const lazy = simulate({ ...base, system: { kind: 'epara', fillAwareWait: false } });
    expect(fill.total.offered).toBe(lazy.total.offered);
    for (const id of ['classify', 'seg-image']) {
      expect(fill.perService[id]!.late).toBeLessThan(lazy.perService[id]!.late);
      expect(fill.perService[id]!.sloAttainment).toBeGreaterThan(lazy.perService[id]!.sloAttainment);
    }
    expect(fill.total.goodputPerSec).toBeGreaterThan(lazy.total.goodputPerSec);
  });

  it('gives the centralized scheduler\'s workers the same rule (a worker runs what it was sent when its GPU is free)', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 4, durationMs: 12_000 }) };
    const fill = simulate({ ...base, system: { kind: 'centralized' } });
    const lazy = simulate({ ...base, system: { kind: 'centralized', fillAwareWait: false } });
    expect(fill.total.offered).toBe(lazy.total.offered);
    expect(fill.total.goodputPerSec).toBeGreaterThan(lazy.total.goodputPerSec);
  });
});
