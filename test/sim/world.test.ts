import { isEparaError } from '@epara/core';
import { bundledAzureLlmTrace, edgeMix, readAzureLlmTrace, runCli, simulate, type Scenario } from '@epara/sim';
import { describe, expect, it } from 'vitest';

const cluster = { groups: [{ preset: 'gpu-server', count: 2 }, { preset: 'jetson', count: 2 }, { preset: 'micro', count: 2 }] } as const;

describe('the edge world', () => {
  it('charges co-location interference: sharing a device is slower than time slicing alone', () => {
    const base: Omit<Scenario, 'system'> = { seed: 2, durationMs: 15_000, warmupMs: 2000, cluster, workload: edgeMix({ scale: 3, durationMs: 15_000 }) };
    const free = simulate({ ...base, interference: 0, system: { kind: 'triton', maxQueueDelayMs: 1 } });
    const costly = simulate({ ...base, interference: 2, system: { kind: 'triton', maxQueueDelayMs: 1 } });
    expect(free.total.offered).toBe(costly.total.offered);
    expect(costly.total.p99Ms).toBeGreaterThanOrEqual(free.total.p99Ms);
    expect(costly.total.good).toBeLessThanOrEqual(free.total.good);
  });

  it('makes distance cost: the same workload with cross-site delays of 40–50 ms loses goodput', () => {
    const base: Scenario = { seed: 3, durationMs: 12_000, warmupMs: 2000, cluster, workload: edgeMix({ scale: 2, durationMs: 12_000 }), system: { kind: 'triton', maxQueueDelayMs: 1 } };
    const near = simulate({ ...base, network: { metroMs: [1, 1] } });
    const far = simulate({ ...base, network: { metroMs: [40, 50] } });
    expect(far.total.goodputPerSec).toBeLessThan(near.total.goodputPerSec);
  });

  it('enforces device memory: a 40 GB model runs only model parallel over two GPUs, never on one', () => {
    const text = bundledAzureLlmTrace();
    const trace = readAzureLlmTrace(text, { service: 'llm-large', speedup: 2, durationMs: 20_000 });
    for (const kind of ['epara', 'triton', 'centralized'] as const) {
      const r = simulate({ seed: 1, durationMs: 20_000, earlyWindowMs: 10_000, cluster, workload: { trace }, system: { kind } });
      expect(r.world.loadFailures).toBe(0);
      expect(r.instanceModes['llm-large']).toMatch(/model-parallel \(2 dev\)/);
      expect(r.instanceModes['llm-large']).not.toMatch(/\(1 dev\)/);
    }
  });

  it('every system conserves items on the edge mix (good + late + dropped = offered)', () => {
    for (const system of [{ kind: 'ray-serve' }, { kind: 'centralized', oracle: true }, { kind: 'centralized' }] as const) {
      const r = simulate({ seed: 4, durationMs: 10_000, warmupMs: 1000, drainMs: 25_000, cluster, workload: edgeMix({ scale: 2, durationMs: 10_000 }), system });
      expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
      expect(r.total.drops.UNFINISHED ?? 0).toBe(0);
    }
  });

  it('moving hot spots: the busiest access server changes between shifts', () => {
    const w = edgeMix({ scale: 2, durationMs: 20_000, shiftEveryMs: 10_000, chatTrace: false });
    expect(typeof w.origins === 'object' && w.origins.kind === 'zipf').toBe(true);
    const r = simulate({ seed: 5, durationMs: 20_000, cluster, workload: w, system: { kind: 'triton', maxQueueDelayMs: 1 } });
    expect(r.total.offered).toBeGreaterThan(1000);
  });
});

describe('the Azure LLM trace reader', () => {
  it('replays timestamps relative to the first row, sped up, with token counts', () => {
    const rows = readAzureLlmTrace('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.5,374,44\n2023-11-16 18:15:48.5,396,109\n', { speedup: 2 });
    expect(rows).toEqual([{ timeMs: 0, service: 'llm-chat', promptTokens: 374, outputTokens: 44 }, { timeMs: 1000, service: 'llm-chat', promptTokens: 396, outputTokens: 109 }]);
    expect(readAzureLlmTrace('GeneratedTokens,TIMESTAMP,ContextTokens\n3,10.5,7\n', { service: 'llm-large' })).toEqual([{ timeMs: 0, service: 'llm-large', promptTokens: 7, outputTokens: 3 }]);
  });

  it('reads the bundled hour of production chat', () => {
    const rows = readAzureLlmTrace(bundledAzureLlmTrace());
    expect(rows).toHaveLength(19_366);
    expect(rows[rows.length - 1]!.timeMs / 1000).toBeGreaterThan(3400);
  });

  it('names the line and column of a bad value', () => {
    for (const [text, field] of [['TIMESTAMP,ContextTokens\n1,2\n', 'trace.header.GeneratedTokens'], ['TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,2\n', 'trace line 2.TIMESTAMP'], ['TIMESTAMP,ContextTokens,GeneratedTokens\n1,-3,2\n', 'trace line 2.ContextTokens']] as const) {
      let err: unknown;
      try {
        readAzureLlmTrace(text);
      } catch (e) {
        err = e;
      }
      expect(isEparaError(err) ? err.details['field'] : err).toBe(field);
    }
  });
});

describe('epara-sim CLI', () => {
  it('--help prints usage and exits 0; an unknown option exits 2 without a stack trace', async () => {
    const out: string[] = [];
    expect(await runCli(['--help'], (s) => out.push(s))).toBe(0);
    expect(out.join('')).toContain('epara-sim run <e1..e8|sensitivity>');
    expect(await runCli(['-h'], () => {})).toBe(0);
    expect(await runCli(['run', 'e1', '--bogus'], () => {})).toBe(2);
  });
});
