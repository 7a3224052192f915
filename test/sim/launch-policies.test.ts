import { edgeMix, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const cluster = { groups: [{ preset: 'gpu-server', count: 4 }, { preset: 'jetson', count: 4 }, { preset: 'micro', count: 4 }] } as const;

describe('EPARA on a frequency-only mix near its capacity', () => {
  it('keeps hci frames fresh with packs sized for the pinned rate', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 12, kind: 'frequency', durationMs: 12_000 }) };
    // Measured with the overload rule looking only at batches of at least the plan's size, as these changes
    // were made (the overload search below the plan's size, tested next, recovers much of the same loss), and with
    // refused streams' frames uploaded (tested last).
    const old = { overloadBelowPlan: false, holdRefusedFramesMs: Number.POSITIVE_INFINITY } as const;
    const now = simulate({ ...base, system: { kind: 'epara', ...old } });
    const before = simulate({ ...base, system: { kind: 'epara', ...old, ratePacks: false, fillAwareWait: false } });
    const planPacks = simulate({ ...base, system: { kind: 'epara', ...old, ratePacks: false } });
    const hci = (r: typeof now): number => r.perService['hci']!.sloAttainment;
    expect(now.total.offered).toBe(before.total.offered);
    // (Measured: hci 0.68 now, 0.22 before, 0.30 with the plan's packs; goodput 2019 vs 1345 items/s.)
    // Before: packs sized for the zone's rate, filled until the head frame's latest start.
    expect(hci(before)).toBeLessThan(0.3);
    expect(hci(now)).toBeGreaterThan(0.6);
    // Packs for the pinned rate alone pay.
    expect(hci(now)).toBeGreaterThan(hci(planPacks));
    expect(now.total.goodputPerSec).toBeGreaterThan(1.3 * before.total.goodputPerSec);
  });

  it('grows a pack sized for the pinned rate up to the plan\'s pack under a backlog, so that a burst does not leave a queue that never drains', () => {
    // Frequency x2, seed 2 (the quick sweep's point): one seg-video instance with 270–285 Hz pinned, whose pack for
    // that rate (5–6 frames, 285 Hz at most) needs all of the device; the plan reserved memory for packs of 8.
    const r = simulate({ seed: 2, durationMs: 20_000, warmupMs: 5000, cluster, workload: edgeMix({ scale: 2, kind: 'frequency', durationMs: 20_000 }), system: { kind: 'epara' } });
    // (Measured: every seg-video frame served. Capped at the rate's pack, the instance's queue grew from 4 to 46
    // frames over the run: 71 stale frames and 48 refused, attainment 0.973.)
    expect(r.perService['seg-video']!.sloAttainment).toBe(1);
    expect(r.total.drops.STALE_FRAME ?? 0).toBe(0);
  });

  it('launches fresher packs below the plan\'s size when a stale frame heads a backlogged queue (overload search)', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 12, kind: 'frequency', durationMs: 12_000 }) };
    // Measured with failing streams kept pinned, as the overload search was made: unpinning them (on by default
    // now) recovers part of the same loss, tested below; refused streams' frames uploaded, as then.
    const pinned = { unpinFailingStreams: false, holdRefusedFramesMs: Number.POSITIVE_INFINITY } as const;
    const below = simulate({ ...base, system: { kind: 'epara', ...pinned } });
    const planOnly = simulate({ ...base, system: { kind: 'epara', ...pinned, overloadBelowPlan: false } });
    const hci = (r: typeof below): number => r.perService['hci']!.sloAttainment;
    // (Measured: hci 0.82 with it, 0.50 without; goodput 2208 vs 1751 items/s.)
    expect(hci(below)).toBeGreaterThan(hci(planOnly) + 0.15);
    expect(below.total.goodputPerSec).toBeGreaterThan(1.1 * planOnly.total.goodputPerSec);
    // Unpinning streams whose frames almost all expire frees the rate they hold: with the overload rule from the
    // plan's size only, hci 0.50 → 0.68 (goodput 1751 → 2019).
    const planOnlyUnpin = simulate({ ...base, system: { kind: 'epara', overloadBelowPlan: false, holdRefusedFramesMs: Number.POSITIVE_INFINITY } });
    expect(hci(planOnlyUnpin)).toBeGreaterThan(hci(planOnly) + 0.1);
    expect(planOnlyUnpin.total.goodputPerSec).toBeGreaterThan(1.1 * planOnly.total.goodputPerSec);
    // It also recovers most of what plan-sized packs lose (0.79 against 0.29 without it).
    const oldPacks = { ratePacks: false, fillAwareWait: false } as const;
    const oldWith = simulate({ ...base, system: { kind: 'epara', ...pinned, ...oldPacks } });
    const oldWithout = simulate({ ...base, system: { kind: 'epara', ...pinned, ...oldPacks, overloadBelowPlan: false } });
    expect(hci(oldWith)).toBeGreaterThan(hci(oldWithout) + 0.3);
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

describe('EPARA reports the batch a newcomer would join (nextRunMs) in its view', () => {
  it('stops rejecting requests an idle peer would answer in time: more seg-image on time at latency x4', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 4, kind: 'latency', durationMs: 12_000 }) };
    const next = simulate({ ...base, system: { kind: 'epara' } });
    const full = simulate({ ...base, system: { kind: 'epara', reportNextRun: false } });
    const seg = (r: typeof next) => r.perService['seg-image']!;
    expect(next.total.offered).toBe(full.total.offered);
    // Peers priced at a full 21-image batch (58.5 ms) looked infeasible to requests that reached a server without
    // seg-image late from a congested access uplink.
    expect(seg(next).drops.DEADLINE_INFEASIBLE ?? 0).toBeLessThan(0.5 * (seg(full).drops.DEADLINE_INFEASIBLE ?? 0));
    // Since placement takes the server nearest the demand among equal ones (`nearDemandFirst`), seg-image is at
    // 98.7 % here even without it (0.91 when this rule was added), so its gain is smaller than the +3 points first measured.
    expect(seg(next).sloAttainment).toBeGreaterThan(seg(full).sloAttainment);
    expect(next.total.goodputPerSec).toBeGreaterThan(full.total.goodputPerSec);
  });
});

describe('EPARA clients keep the frames of a refused stream while their access uplink is backed up', () => {
  it('frees the hot spot\'s uplink for what was admitted: more frames on time at frequency x12, every item settled once', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 12, kind: 'frequency', durationMs: 12_000 }) };
    const held = simulate({ ...base, system: { kind: 'epara' } });
    const sent = simulate({ ...base, system: { kind: 'epara', holdRefusedFramesMs: Number.POSITIVE_INFINITY } });
    expect(held.total.offered).toBe(sent.total.offered);
    for (const r of [held, sent]) expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
    // (Measured: goodput 2589 vs 2216 items/s; seg-video 0.88 vs 0.74, hci 0.94 vs 0.82.) Uploading every frame
    // of a refused stream saturates the hot spot's uplink: 2037 seg-video frames could not even be uploaded in
    // time; kept at the client, 529 frames settle as refused and the rest of the uplink's traffic gets through.
    expect(held.total.drops.OVERLOADED ?? 0).toBeGreaterThan(0);
    expect(held.total.drops.DEADLINE_INFEASIBLE ?? 0).toBeLessThan((sent.total.drops.DEADLINE_INFEASIBLE ?? 0) / 4);
    for (const id of ['seg-video', 'hci']) expect(held.perService[id]!.sloAttainment).toBeGreaterThan(sent.perService[id]!.sloAttainment + 0.05);
    expect(held.total.goodputPerSec).toBeGreaterThan(1.1 * sent.total.goodputPerSec);
  });
});

describe("EPARA pins a stream to a peer only when its frames fit its access server's link", () => {
  it('keeps the hot spot from committing more stream traffic than its link carries: fewer stale frames at frequency x12', () => {
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 12_000, warmupMs: 4000, cluster, workload: edgeMix({ scale: 12, kind: 'frequency', durationMs: 12_000 }) };
    const linked = simulate({ ...base, system: { kind: 'epara' } });
    const unlinked = simulate({ ...base, system: { kind: 'epara', streamEgressShare: Number.POSITIVE_INFINITY } });
    expect(linked.total.offered).toBe(unlinked.total.offered);
    for (const r of [linked, unlinked]) expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
    // (Measured: goodput 2752 vs 2589 items/s; 153 vs 1282 stale frames; seg-video 0.95 vs 0.88, hci 0.98 vs
    // 0.94.) Without the check the microcomputer pins seg-video streams (40 kB × 15 Hz) to peers beyond its
    // 100 Mbit/s link; their frames, and the hci frames queued behind them, reach the peers too old and expire.
    expect(linked.total.drops.STALE_FRAME ?? 0).toBeLessThan((unlinked.total.drops.STALE_FRAME ?? 0) / 4);
    for (const id of ['seg-video', 'hci']) expect(linked.perService[id]!.sloAttainment).toBeGreaterThan(unlinked.perService[id]!.sloAttainment + 0.02);
    expect(linked.total.goodputPerSec).toBeGreaterThan(1.04 * unlinked.total.goodputPerSec);
  });
});
