import { describe, expect, it } from 'vitest';
import type { PlacedInstance } from '@epara/core';
import { plansAtProfileSpeed, servicesAtMeasuredSpeed } from '@epara/core/scheduling';
import { attainmentOf, runClusterModel } from './cluster-model.js';
import { planPlacement, type ReplicaPolicy } from './placement.js';
import { QUIET_DELAYS_MS, QUIET_SPECS } from './quiet-run-fixture.js';
import { buildWorkload, type Workload } from './workload.js';

/*
 * The placements of the demo's edge world compared in virtual time (pure functions of the seeds): each planned from
 * another seed's forecast, then run on three trial workloads. Profiles and delays of a quiet run; the devices as the
 * quiet reports counted them at the knee: the backend at 2.7× the profiles, 4.5 ms of hand-off per batch.
 */
const specs = QUIET_SPECS;
const ids = ['edge-0', 'edge-1', 'edge-2'];
const delaysMs = QUIET_DELAYS_MS;
const ratio = 2.7;
const costRatio = { image: ratio, chat: ratio, video: ratio, loop: ratio, vad: ratio };
const HANDOFF_MS = 4.5;
const policies: Record<string, ReplicaPolicy> = {
  none: {},
  all: { keepLatencyDevices: true },
  deviceTime: { deviceTime: { handoffMs: HANDOFF_MS, costRatio, maxShare: 0.85 } },
};

function compare(load: number, seed: number, handoffMs = HANDOFF_MS, named = policies): Record<string, { all: number; latency: number; frequency: number }> {
  const forecast = buildWorkload({ durationMs: 10_000, load, nodes: 3, seed, world: 'edge' });
  const trials = [0, 1, 2].map((t) => buildWorkload({ durationMs: 10_000, load, nodes: 3, seed: seed + t, world: 'edge' }));
  return Object.fromEntries(
    Object.entries(named).map(([name, policy]) => {
      const placed = planPlacement(specs, forecast, 3, delaysMs, 125_000, policy).instances;
      const runs = trials.map((w) => runClusterModel(specs, placed, w, ids, { costRatio, handoffMs, delaysMs }));
      const mean = (f: (r: (typeof runs)[number]) => number): number => runs.reduce((a, r) => a + f(r), 0) / runs.length;
      return [name, { all: mean((r) => attainmentOf(r)), latency: mean((r) => attainmentOf(r, ['image', 'chat'])), frequency: mean((r) => attainmentOf(r, ['video', 'loop', 'vad'])) }];
    }),
  );
}

describe('the placements of the edge world in the cluster model (virtual time)', () => {
  const cases = [2.83, 3.36].flatMap((load) => [42, 7].map((seed) => ({ load, seed, r: compare(load, seed) })));

  it('moving streams off the latency servers at their device time stays within half a point of moving none overall, and lifts the latency group', () => {
    for (const { r } of cases) {
      // ×2.83, seed 7: 97.9 % against 98.2 % overall (the latency group 89.7 % against 89.0 %).
      expect(r['deviceTime']!.all).toBeGreaterThanOrEqual(r['none']!.all - 0.005);
      expect(r['deviceTime']!.latency).toBeGreaterThanOrEqual(r['none']!.latency);
    }
    const mean = (name: string, k: 'all' | 'latency'): number => cases.reduce((a, c) => a + c.r[name]![k], 0) / cases.length;
    expect(mean('deviceTime', 'latency')).toBeGreaterThan(mean('none', 'latency') + 0.03);
  });

  it('moving all of them wins some cases and loses others; at the device time no case loses the streams', () => {
    const better = cases.filter((c) => c.r['all']!.all > c.r['deviceTime']!.all + 0.002).length;
    const worse = cases.filter((c) => c.r['all']!.all < c.r['deviceTime']!.all - 0.002).length;
    expect(better).toBeGreaterThan(0);
    expect(worse).toBeGreaterThan(0);
    for (const { r } of cases) expect(r['deviceTime']!.frequency).toBeGreaterThan(0.985);
    expect(Math.min(...cases.map((c) => c.r['all']!.frequency))).toBeLessThan(0.98);
  });
});

describe('stream replicas consolidated at the measured device time (virtual time)', () => {
  // The hand-off this round's slower host measured in a warm-up (9.9 ms per batch), and the faster host's (4.5 ms).
  const at = (handoffMs: number): Record<string, ReplicaPolicy> => ({ none: {}, consolidate: { consolidate: { handoffMs, costRatio, maxShare: 0.85 } } });
  const slow = [2.38, 2.83].flatMap((load) => [42, 7].map((seed) => ({ load, seed, r: compare(load, seed, 9.9, at(9.9)) })));

  it('at 9.9 ms of hand-off per batch, serves at least as much as the replicas everywhere in every case, and lifts the latency group', () => {
    for (const { r } of slow) expect(r['consolidate']!.all).toBeGreaterThanOrEqual(r['none']!.all);
    const mean = (name: string): number => slow.reduce((a, c) => a + c.r[name]!.latency, 0) / slow.length;
    // ×2.83, seed 42: the latency group 80.4 % against 50.7 %; ×2.38, seed 7: 90.8 % against 91.5 %.
    expect(mean('consolidate')).toBeGreaterThan(mean('none') + 0.1);
  });

  it('at 4.5 ms, stays within a point of the replicas everywhere overall', () => {
    for (const load of [2.0, 2.83]) {
      for (const seed of [42, 7]) {
        const r = compare(load, seed, HANDOFF_MS, at(HANDOFF_MS));
        expect(r['consolidate']!.all).toBeGreaterThanOrEqual(r['none']!.all - 0.01);
      }
    }
  });
});

describe('core\'s placement against the replica rule (virtual time)', () => {
  // Core's `placeServices` result as loaded (`hostRules: 'core'`) against the earlier host rules on top of it, each at
  // the faster host's hand-off (4.5 ms per batch) and the slower one's (9.9 ms).
  const placements = { core: { hostRules: 'core' }, replicas: { hostRules: 'replicas' } } satisfies Record<string, ReplicaPolicy>;
  const cases = [2.38, 3.36].flatMap((load) => [42, 7].flatMap((seed) => [HANDOFF_MS, 9.9].map((handoffMs) => ({ load, seed, handoffMs, r: compare(load, seed, handoffMs, placements) }))));

  const mean = (name: string, k: 'all' | 'frequency', h?: number): number => {
    const of = cases.filter((c) => h === undefined || c.handoffMs === h);
    return of.reduce((a, c) => a + c.r[name]![k], 0) / of.length;
  };

  it('serves more overall on average, and within 1.5 points of the replica rule in every case at 4.5 ms', () => {
    // Mean over the eight cases: 96.0 % against 93.9 %.
    expect(mean('core', 'all')).toBeGreaterThan(mean('replicas', 'all') + 0.01);
    // ×2.38, seed 7: 98.0 % against 98.8 % (the replica rule's second image instance, on a server where images
    // enter, takes bursts one image server does not).
    for (const { handoffMs, r } of cases) if (handoffMs === HANDOFF_MS) expect(r['core']!.all).toBeGreaterThanOrEqual(r['replicas']!.all - 0.015);
  });

  it('at 9.9 ms of hand-off serves more overall in three cases of four, and the streams better on average', () => {
    const slow = cases.filter((c) => c.handoffMs === 9.9);
    // ×3.36, seed 7: 94.3 % against 85.6 % (images 73.6 % against 43.1 %); ×2.38, seed 7: 92.6 % against 95.0 %.
    expect(slow.filter((c) => c.r['core']!.all > c.r['replicas']!.all).length).toBe(3);
    expect(mean('core', 'frequency', 9.9)).toBeGreaterThan(mean('replicas', 'frequency', 9.9));
    for (const { handoffMs, r } of cases) if (handoffMs === HANDOFF_MS) expect(r['core']!.frequency).toBeGreaterThanOrEqual(r['replicas']!.frequency);
  });
});

describe('core\'s placement at the measured speed against the profiles\' (virtual time)', () => {
  // The devices as run 37's warm-up measured them (backend ÷ profile: images 2.13, video 2.32, loop 1.39, VAD 1.73;
  // chat taken at the images'), the placement made again on them (`--plan-speed measured`, plans loaded at profile
  // speed) against core's placement on the start-up profiles. The model leaves out stream admission's refusals.
  const costRatio = { image: 2.13, chat: 2.13, video: 2.32, loop: 1.39, vad: 1.73 };
  const score = (placed: readonly PlacedInstance[], trials: readonly Workload[], handoffMs: number) => {
    const runs = trials.map((w) => runClusterModel(specs, placed, w, ids, { costRatio, handoffMs, delaysMs }));
    const mean = (f: (r: (typeof runs)[number]) => number): number => runs.reduce((a, r) => a + f(r), 0) / runs.length;
    return { all: mean((r) => attainmentOf(r)), latency: mean((r) => attainmentOf(r, ['image', 'chat'])) };
  };
  const cases = [1.19, 2.38, 3.36].flatMap((load) =>
    [42, 7].flatMap((seed) => {
      const forecast = buildWorkload({ durationMs: 10_000, load, nodes: 3, seed, world: 'edge' });
      const trials = [0, 1, 2].map((t) => buildWorkload({ durationMs: 10_000, load, nodes: 3, seed: seed + t, world: 'edge' }));
      const profile = planPlacement(specs, forecast, 3, delaysMs, 125_000, { hostRules: 'core' }).instances;
      const measured = plansAtProfileSpeed(planPlacement(servicesAtMeasuredSpeed(specs, costRatio), forecast, 3, delaysMs, 125_000, { hostRules: 'core' }).instances, costRatio);
      return [HANDOFF_MS, 9.9].map((handoffMs) => ({ profile: score(profile, trials, handoffMs), measured: score(measured, trials, handoffMs) }));
    }),
  );
  const mean = (k: 'profile' | 'measured', g: 'all' | 'latency'): number => cases.reduce((a, c) => a + c[k][g], 0) / cases.length;

  it('serves as much on average, the latency group more, and within 1.5 points in every case', () => {
    // Over the twelve cases 98.6 % against 98.5 %, images and chat 91.0 % against 89.9 %; ×3.36, seed 7, 9.9 ms:
    // 95.7 % against 96.8 % (the streams 97.8 % against 99.1 %).
    expect(mean('measured', 'all')).toBeGreaterThanOrEqual(mean('profile', 'all'));
    expect(mean('measured', 'latency')).toBeGreaterThan(mean('profile', 'latency') + 0.005);
    for (const c of cases) expect(c.measured.all).toBeGreaterThanOrEqual(c.profile.all - 0.015);
  });
});
