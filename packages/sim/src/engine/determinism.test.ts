import { describe, expect, it } from 'vitest';
import { simulate } from '../simulate.js';
import { productionMix } from '../workload/production-mix.js';
import type { Scenario } from '../scenario/scenario.js';

/** E6's shape at a small size: several zones, each with its own ring and placement, and a failure. */
const scenario: Scenario = {
  name: 'determinism', seed: 11, durationMs: 15_000,
  cluster: { groups: [{ preset: 'gpu-server', count: 30 }, { preset: 'jetson', count: 15 }, { preset: 'micro', count: 15 }], zoneSize: 20 },
  workload: productionMix({ scale: 3 }),
  failures: [{ atMs: 5000, server: 3 }, { atMs: 9000, server: 3, recover: true }],
  system: { kind: 'epara', syncOptions: { lossProbability: 0.05, noise: 0.05 } },
};

/** Everything but wall-clock fields (placement timing). */
function figures(r: ReturnType<typeof simulate>): string {
  const placement = r.systemInfo['placement'] as Record<string, unknown> | undefined;
  const rest = placement === undefined ? undefined : Object.fromEntries(Object.entries(placement).filter(([k]) => !/ms$/i.test(k)));
  return JSON.stringify({ ...r, systemInfo: { ...r.systemInfo, placement: rest } });
}

describe('simulator determinism', () => {
  it('gives identical figures for the same seed across zones, ring sync with loss and noise, and a failure', () => {
    const a = simulate(scenario);
    const b = simulate(scenario);
    expect(a.events).toBeGreaterThan(10_000);
    expect(a.total.offered).toBeGreaterThan(1000);
    expect(figures(b)).toBe(figures(a));
  });

  it('changes with the seed (the comparison above is not vacuous)', () => {
    const a = simulate(scenario);
    const c = simulate({ ...scenario, seed: 12 });
    expect(figures(c)).not.toBe(figures(a));
  });
});
