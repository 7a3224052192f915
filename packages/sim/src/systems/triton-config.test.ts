import { latencyAt } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { buildServers } from '../model/hardware.js';
import { SERVICE_CATALOG } from '../model/services.js';
import { tritonMaxBatch, tritonStaticPlacement } from './triton-config.js';

describe('Triton-like configuration', () => {
  it('picks the largest max_batch_size whose latency fits the SLO budget (model-analyzer rule)', () => {
    for (const id of ['seg-image', 'classify', 'llm-chat', 'hci']) {
      const spec = SERVICE_CATALOG[id]!.spec;
      const b = tritonMaxBatch(spec, 'edge-gpu');
      const deadline = spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs;
      const budget = deadline - (spec.networkBudgetMs ?? 0);
      expect(b).toBeGreaterThan(0);
      expect(latencyAt(spec.profiles['edge-gpu']!, b)).toBeLessThanOrEqual(budget);
      if (b < 128) expect(latencyAt(spec.profiles['edge-gpu']!, b + 1)).toBeGreaterThan(budget);
    }
    // seg-image: 6 + 2.5·b ≤ 150 − 30 → b = 45.
    expect(tritonMaxBatch(SERVICE_CATALOG['seg-image']!.spec, 'edge-gpu')).toBe(45);
    expect(tritonMaxBatch(SERVICE_CATALOG['seg-image']!.spec, 'micro-cpu')).toBe(0);
  });

  it('places replicas in proportion to demand, one per device per model, within device memory', () => {
    const servers = buildServers([{ preset: 'gpu-server', count: 4 }], 50);
    const services = ['llm-chat', 'seg-image', 'classify'].map((id) => SERVICE_CATALOG[id]!);
    const demand = [[3, 3, 3, 3], [20, 20, 20, 20], [5, 5, 5, 5]];
    const reps = tritonStaticPlacement({ servers, services, demand });
    const count = (k: number): number => reps.filter((r) => r.service === k).length;
    expect(count(0)).toBeGreaterThan(count(2));
    expect(count(2)).toBeGreaterThanOrEqual(1);
    const keys = reps.map((r) => `${r.service}@${r.server}:${r.device}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of servers) {
      s.spec.devices.forEach((d, i) => {
        const used = reps.filter((r) => r.server === s.index && r.device === i).reduce((m, r) => m + services[r.service]!.spec.memory.weightsBytes + services[r.service]!.spec.memory.perItemBytes * r.maxBatch, 0);
        expect(used).toBeLessThanOrEqual(d.memoryBytes * 0.9);
      });
    }
  });
});
