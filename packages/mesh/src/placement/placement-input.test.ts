import { describe, expect, it } from 'vitest';
import { affineProfile } from '@epara/core';
import type { ServerEntry, ServiceSpec } from '@epara/core';
import { buildPlacementInput } from './placement-input.js';

const service: ServiceSpec = {
  id: 's',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 200 },
  memory: { weightsBytes: 1e6, perItemBytes: 1e5 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 5, perItemMs: 1, maxBatch: 8 }) },
};
const entry = (id: string, o: Partial<ServerEntry> = {}): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, instances: [], ...o,
});
const devices = new Map([['a', [{ id: 'd0', kind: 'cpu', memoryBytes: 1e9 }]], ['b', [{ id: 'd0', kind: 'cpu', memoryBytes: 1e9 }]], ['c', [{ id: 'd0', kind: 'cpu', memoryBytes: 1e9 }]]]);

describe('buildPlacementInput', () => {
  it('takes alive servers with devices, demand from reported arrival rates, and adopts host-loaded instances', () => {
    const view = {
      entries: {
        a: entry('a', { arrivalRates: { s: 30 } }),
        b: entry('b', { arrivalRates: { s: 10 }, instances: [{ instanceId: 'host-1', serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 8, capacityPerSec: 600, loadPerSec: 10, waitMs: 13, runMs: 13 }] }),
        c: entry('c', { alive: false, arrivalRates: { s: 99 } }),
      },
    } as const;
    const input = buildPlacementInput({ view, services: [service], devices, previous: [], minDemandPerSec: 1, leader: 'a' });
    expect(input.servers.map((s) => s.id)).toEqual(['a', 'b']);
    expect(input.demand).toEqual([{ serviceId: 's', ratePerServer: { a: 30, b: 10 } }]);
    expect(input.plans['s']!.length).toBeGreaterThan(0);
    expect(input.current).toHaveLength(1);
    expect(input.current![0]).toMatchObject({ instanceId: 'host-1', serverId: 'b', deviceIds: ['d0'], backlogItems: 8 });
  });

  it('keeps an idle service alive with the demand floor, counted at the leader', () => {
    const input = buildPlacementInput({ view: { entries: { a: entry('a') } }, services: [service], devices, previous: [], minDemandPerSec: 2, leader: 'a' });
    expect(input.demand).toEqual([{ serviceId: 's', ratePerServer: { a: 2 } }]);
  });
});
