import { productionMix, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

describe('every cost is paid where it falls', () => {
  it('the upper bound decides for free: its requests wait for no control message, however far its controller is', () => {
    // Two sites of three GPU servers 45 ms apart; `classify` requests (50 ms SLO) enter at the second site only,
    // while the zone's controller (the oracle's, and the deployable scheduler's) sits at server 0, on the first.
    const trace = Array.from({ length: 40 }, (_, i) => ({ timeMs: 500 + i * 100, service: 'classify', origin: 4 }));
    const base: Omit<Scenario, 'system'> = { seed: 1, durationMs: 5000, earlyWindowMs: 5000, cluster: { groups: [{ preset: 'gpu-server', count: 6 }] }, network: { metroMs: [45, 45] }, workload: { trace } };
    const oracle = simulate({ ...base, system: { kind: 'centralized', oracle: true } });
    const deployable = simulate({ ...base, system: { kind: 'centralized' } });
    // The oracle serves every request on its site (measured p50 10.9 ms); one control leg alone would take 45 ms.
    expect(oracle.total.good).toBe(40);
    expect(oracle.total.p50Ms).toBeLessThan(45);
    // The deployable scheduler pays the round trip to its controller (90 ms): no request can make 50 ms.
    expect(deployable.total.good).toBe(0);
  });

  it("charges a stream's frames to the access link they leave over when its client reaches another access server", () => {
    // Two microcomputers (100 Mbit/s links; server 0 fails at 6 s and returns at 12 s, its clients meanwhile at
    // server 1) and a GPU server; stream admission may commit 30 % of a link to streams served by peers.
    const r = simulate({
      seed: 1, durationMs: 30_000, warmupMs: 2000, cluster: { groups: [{ preset: 'micro', count: 2 }, { preset: 'gpu-server', count: 1 }] },
      workload: { streams: [{ service: 'seg-video', concurrentStreams: 20, meanDurationMs: 10_000 }], origins: 'clients' },
      failures: [{ atMs: 6000, server: 0 }, { atMs: 12_000, server: 0, recover: true }],
      system: { kind: 'epara', streamEgressShare: 0.3 },
    });
    expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
    // (Measured: seg-video attainment 0.941, 377 stale frames.) With the charge left on server 0's link, the streams
    // that moved to server 1 and found their instance there still held server 0's link when it returned, so its
    // new streams were refused a peer: 0.915 and 583 stale frames.
    expect(r.perService['seg-video']!.sloAttainment).toBeGreaterThan(0.93);
    expect(r.total.drops.STALE_FRAME ?? 0).toBeLessThan(450);
  });

  it('loses a result whose access server failed, for every system: no client is answered through a dead server', () => {
    for (const kind of ['epara', 'triton', 'ray-serve', 'centralized'] as const) {
      let answered = 0;
      let lost = 0;
      const r = simulate(
        { seed: 1, durationMs: 30_000, warmupMs: 2000, cluster: { groups: [{ preset: 'gpu-server', count: 4 }, { preset: 'jetson', count: 4 }, { preset: 'micro', count: 4 }] }, workload: productionMix({ scale: 6 }), failures: [{ atMs: 10_000, server: 0 }, { atMs: 20_000, server: 0, recover: true }], system: { kind } },
        {
          wrapSystem: (inner) => ({
            ...inner,
            start(world) {
              // Items settled while their access server (server 0) is down.
              world.metrics.observer = (req, outcome) => {
                if (req.origin !== 0 || world.serverAlive[0]) return;
                if (outcome === 'good' || outcome === 'late') answered++;
                else if (outcome === 'PEER_UNAVAILABLE') lost++;
              };
              inner.start(world);
            },
          }),
        },
      );
      expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
      // (Measured, seed 1: 7, 19, 18 and 5 results in flight when server 0 failed, each counted answered before.)
      expect([kind, answered]).toEqual([kind, 0]);
      expect(lost).toBeGreaterThan(0);
    }
  });
});
