import { isEparaError } from '@epara/core';
import { productionMix, runCli, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const base: Omit<Scenario, 'system'> = {
  seed: 7,
  durationMs: 12_000,
  warmupMs: 2000,
  drainMs: 30_000,
  cluster: { groups: [{ preset: 'gpu-server', count: 2 }, { preset: 'jetson', count: 2 }, { preset: 'micro', count: 2 }] },
  workload: productionMix({ scale: 3 }),
  failures: [{ atMs: 6000, server: 0 }, { atMs: 9000, server: 0, recover: true }],
};

describe('simulate', () => {
  it.each([
    { kind: 'epara' },
    { kind: 'epara', categorize: false, sync: false },
    { kind: 'triton', maxQueueDelayMs: 5 },
    { kind: 'centralized' },
    { kind: 'ray-serve' },
  ] as const)('conserves items: every offered item ends once as good, late or dropped with a reason ($kind)', (system) => {
    const r = simulate({ ...base, system });
    const t = r.total;
    expect(t.offered).toBeGreaterThan(1000);
    expect(t.good + t.late + t.dropped).toBe(t.offered);
    expect(t.drops.UNFINISHED ?? 0).toBe(0);
    const dropSum = Object.values(t.drops).reduce((a, b) => a + (b ?? 0), 0);
    expect(dropSum).toBe(t.dropped);
    const perService = Object.values(r.perService).reduce((a, s) => a + s.offered, 0);
    expect(perService).toBe(t.offered);
    expect(r.offeredPerSec.frames).toBeGreaterThan(0);
  });

  it('is deterministic: the same seed gives identical results', () => {
    const a = simulate({ ...base, system: { kind: 'epara' } });
    const b = simulate({ ...base, system: { kind: 'epara' } });
    const strip = (r: typeof a): unknown => ({ ...r, systemInfo: { ...r.systemInfo, placement: undefined } });
    expect(JSON.stringify(strip(a))).toBe(JSON.stringify(strip(b)));
  });

  it('offers every system exactly the same workload', () => {
    const offered = (['epara', 'triton', 'centralized', 'ray-serve'] as const).map((kind) => simulate({ ...base, system: { kind } }).total.offered);
    expect(new Set(offered).size).toBe(1);
  });

  it('rejects a bad scenario with INVALID_OPTIONS naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ ...base, system: { kind: 'epara' }, durationMs: -1 }, 'scenario.durationMs'],
      [{ ...base, system: { kind: 'nope' } }, 'scenario.system.kind'],
      [{ ...base, system: { kind: 'epara' }, cluster: { groups: [{ preset: 'x', count: 1 }] } }, 'scenario.cluster.groups[0].preset'],
      [{ ...base, system: { kind: 'epara' }, workload: { requests: [{ service: 'seg-image', ratePerSec: 'a' }] } }, 'scenario.workload.requests[0].ratePerSec'],
      [{ ...base, system: { kind: 'epara' }, workload: { streams: [{ service: 'seg-image', concurrentStreams: 1 }] } }, 'scenario.workload.streams[0].service'],
      [{ ...base, system: { kind: 'epara' }, failures: [{ atMs: 1, server: 'zz' }] }, 'scenario.failures[0].server'],
      [{ ...base, system: { kind: 'epara' }, network: { metroMs: [20, 5] } }, 'scenario.network.metroMs'],
      [{ ...base, system: { kind: 'epara' }, interference: -1 }, 'scenario.interference'],
      [{ ...base, system: { kind: 'epara' }, workload: { origins: { kind: 'zipf', base: 'x' } } }, 'scenario.workload.origins.base'],
      [{ ...base, system: { kind: 'epara' }, workload: { requests: [{ service: 'classify', ratePerSec: 1, process: { kind: 'bursts', periodMs: 100, burstMs: 200, factor: 2 } }] } }, 'scenario.workload.requests[0].process.burstMs'],
      [{ ...base, system: { kind: 'epara' }, workload: { trace: [{ timeMs: 0, service: 'llm-chat', promptTokens: 1.5 }] } }, 'scenario.workload.trace[0].promptTokens'],
    ];
    for (const [input, field] of cases) {
      let err: unknown;
      try {
        simulate(input as Scenario);
      } catch (e) {
        err = e;
      }
      expect(isEparaError(err) ? err.details['field'] : err).toBe(field);
    }
  });

  it('CLI: unknown experiment, bad seed and bad worker count exit with code 2', async () => {
    const out: string[] = [];
    expect(await runCli(['run', 'e9'], (s) => out.push(s))).toBe(2);
    expect(await runCli(['run', 'e1', '--seed', 'x'], (s) => out.push(s))).toBe(2);
    expect(await runCli(['scenario', 'any.json', '--workers', '0'], (s) => out.push(s))).toBe(2);
    expect(await runCli(['list'], (s) => out.push(s))).toBe(0);
    expect(out.join('')).toContain('e8');
  });
});
