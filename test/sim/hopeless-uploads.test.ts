import { edgeMix, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const cluster = { groups: [{ preset: 'gpu-server', count: 4 }, { preset: 'jetson', count: 4 }, { preset: 'micro', count: 4 }] } as const;

describe('EPARA clients skip the requests their access server would refuse as infeasible on arrival', () => {
  it('keeps the hot spot\'s uplink queue short enough that what it carries arrives in time: more items at latency x10', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 10, kind: 'latency', durationMs: 12_000 }) };
    // Off by default (EPARA's real clients do not hear their server's view before uploading): measured here, against
    // clients that heed no refusal either.
    const skip = simulate({ ...base, system: { kind: 'epara', skipHopelessUploadsMs: 20, heedRefusalsMs: 0 } });
    const send = simulate({ ...base, system: { kind: 'epara', heedRefusalsMs: 0 } });
    expect(skip.total.offered).toBe(send.total.offered);
    for (const r of [skip, send]) expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
    // The hot-spot microcomputer's 100 Mbit/s uplink is full. Its clients skip an upload only when it could not
    // reach the server in time, so the queue settles where uploads arrive with almost no slack left, and its
    // seg-image requests, which must still cross its egress to a GPU, are refused on arrival. Skipping the ones
    // its access server would refuse holds the queue where they still fit. (Measured: goodput 1131 vs 1095 items/s,
    // seg-image 0.77 vs 0.71.)
    expect(skip.perService['seg-image']!.sloAttainment).toBeGreaterThan(send.perService['seg-image']!.sloAttainment + 0.04);
    expect(skip.total.goodputPerSec).toBeGreaterThan(1.025 * send.total.goodputPerSec);
    // Skipped or not, those requests are lost; what changes is that fewer of the rest arrive too late.
    expect(skip.total.drops.DEADLINE_INFEASIBLE ?? 0).toBeLessThan(0.85 * (send.total.drops.DEADLINE_INFEASIBLE ?? 0));
  });
});

describe('EPARA clients heed the refusals they heard', () => {
  it('holds the hot spot\'s uplink where its requests arrive with more slack than a refused one had: more items at latency x10', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 10, kind: 'latency', durationMs: 12_000 }) };
    const heed = simulate({ ...base, system: { kind: 'epara', heedRefusalsMs: 1000 } });
    const send = simulate({ ...base, system: { kind: 'epara', heedRefusalsMs: 0 } });
    expect(heed.total.offered).toBe(send.total.offered);
    for (const r of [heed, send]) expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
    // The hot-spot microcomputer's seg-image requests are refused on arrival as infeasible (they must still cross
    // its egress to a GPU); for a second after hearing a refusal its clients keep back the uploads that would arrive
    // with no more slack, so the ones they send arrive in time. (Measured: goodput 1124 vs 1095 items/s, seg-image
    // 0.76 vs 0.71.)
    expect(heed.perService['seg-image']!.sloAttainment).toBeGreaterThan(send.perService['seg-image']!.sloAttainment + 0.03);
    expect(heed.total.goodputPerSec).toBeGreaterThan(1.02 * send.total.goodputPerSec);
  });

  it('changes nothing where no uplink backs up (latency x1): the same figures', () => {
    const base: Omit<Scenario, 'system'> = { seed: 2, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 1, kind: 'latency', durationMs: 12_000 }) };
    const heed = simulate({ ...base, system: { kind: 'epara', heedRefusalsMs: 1000 } });
    const send = simulate({ ...base, system: { kind: 'epara', heedRefusalsMs: 0 } });
    // (The runs differ only by the refusals' answers heard: one event each.)
    expect(heed.total).toEqual(send.total);
    expect(heed.perService).toEqual(send.perService);
  });
});

describe("EPARA's deployed placement options", () => {
  it('run as when given explicitly: the slack-aware reach reads only the slack EPARA measured, either way', () => {
    const base: Omit<Scenario, 'system'> = { seed: 2, durationMs: 20_000, warmupMs: 5000, cluster, workload: edgeMix({ scale: 1, kind: 'latency', durationMs: 20_000 }) };
    const implicit = simulate({ ...base, system: { kind: 'epara' } });
    const explicit = simulate({ ...base, system: { kind: 'epara', placementOptions: { multiTask: 'auto', shortage: 'estimate', slackReach: true } } });
    expect(implicit.events).toBe(explicit.events);
    expect(implicit.total).toEqual(explicit.total);
  });
});
