import { simulate, type Scenario } from '@epara/sim';
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
});
