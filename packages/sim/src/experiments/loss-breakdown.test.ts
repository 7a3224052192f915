import { describe, expect, it } from 'vitest';
import { simulate } from '../simulate.js';
import { edgeScenario } from './common.js';
import { LOSS_CLASSES, lossBreakdown, runLossBreakdown } from './loss-breakdown.js';

const ctx = { seed: 1, quick: true };

describe('loss breakdown', () => {
  it('puts every offered item in exactly one class and leaves the run unchanged', () => {
    const scenario = { ...edgeScenario('loss-test', ctx, 8, 8000, 'mixed'), system: { kind: 'epara' as const } };
    const b = lossBreakdown(scenario);
    const plain = simulate(scenario);
    expect(b.result.total).toEqual(plain.total);
    expect(b.result.events).toBe(plain.events);
    const sum = LOSS_CLASSES.reduce((n, c) => n + b.total[c], 0);
    expect(sum).toBe(b.result.total.offered);
    expect(b.total.good).toBe(b.result.total.good);
    // Client skips are DEADLINE_INFEASIBLE drops; the hot-spot uplinks skip some at this load.
    expect(b.total.uplink).toBeGreaterThan(0);
    expect(b.total.uplink).toBeLessThanOrEqual(b.result.total.drops.DEADLINE_INFEASIBLE ?? 0);
    for (const [id, t] of Object.entries(b.perService)) {
      const s = b.result.perService[id]!;
      expect(t.good).toBe(s.good);
      expect(LOSS_CLASSES.reduce((n, c) => n + t[c], 0)).toBeLessThanOrEqual(s.offered);
    }
  });

  it('splits the feasible refusals by the reason routing gave', () => {
    const scenario = { ...edgeScenario('loss-test', ctx, 6, 8000, 'latency'), system: { kind: 'epara' as const } };
    const b = lossBreakdown(scenario);
    const sum = (r: Record<string, number>): number => Object.values(r).reduce((n, x) => n + x, 0);
    expect(b.total.refused).toBeGreaterThan(0);
    expect(sum(b.refusals)).toBe(b.total.refused);
    for (const [id, t] of Object.entries(b.perService)) expect(sum(b.perServiceRefusals[id] ?? {})).toBe(t.refused);
    // Each reason counts at most the drops the run gave for it (uplink skips and infeasible items are DEADLINE_INFEASIBLE too).
    for (const [reason, n] of Object.entries(b.refusals)) expect(n).toBeLessThanOrEqual(b.result.total.drops[reason as 'OVERLOADED'] ?? 0);
  });

  it('classifies the baselines the same way, with the same infeasible items for every system', () => {
    // EPARA's clients skip no request their access server would refuse, nor heed a refusal (the world's own skips alone: the default).
    const rows = runLossBreakdown(ctx, 'latency', [6]);
    expect(rows.map((r) => r.system)).toEqual(['EPARA', expect.any(String), 'upper bound']);
    const offered = rows.map((r) => LOSS_CLASSES.reduce((n, c) => n + r.total[c], 0));
    expect(new Set(offered).size).toBe(1);
    // The uplinks carry the same uploads whatever the system: the same skips.
    expect(new Set(rows.map((r) => r.total.uplink)).size).toBe(1);
    // With EPARA's clients skipping hopeless requests (counted in the uplink class too: they never leave), the hot
    // spot's uploads stop arriving infeasible and more are served. (Measured: infeasible 532 → 0, uplink 3175 → 3134.)
    // EPARA alone, on the scenario runLossBreakdown ran.
    const epara = (options: object): ReturnType<typeof lossBreakdown> => lossBreakdown({ ...edgeScenario('e1-latency-x6', ctx, 6, 20_000, 'latency'), system: { kind: 'epara', ...options } });
    const skipping = epara({ skipHopelessUploadsMs: 20 });
    expect(skipping.total.infeasible).toBeLessThan(rows[0]!.total.infeasible / 10);
    expect(skipping.total.good).toBeGreaterThan(rows[0]!.total.good);
    // Heeding the refusals they heard (off by default), EPARA's clients keep back part of them: fewer arrive infeasible.
    const heeding = epara({ heedRefusalsMs: 1000 });
    expect(heeding.total.infeasible).toBeLessThan(rows[0]!.total.infeasible);
    expect(heeding.total.good).toBeGreaterThan(rows[0]!.total.good);
  });
});
