import { describe, expect, it } from 'vitest';
import { affineProfile, findPlacementViolations, isEparaError, placeServices } from '@epara/core';
import type { InstanceInfo, ServerEntry, ServiceSpec } from '@epara/core';
import { resolveCoordinatorOptions } from './coordinator-options.js';
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
const other: ServiceSpec = { ...service, id: 't' };
const info = (instanceId: string, serviceId: string, o: Partial<InstanceInfo> = {}): InstanceInfo => ({
  instanceId, serviceId, status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 8, capacityPerSec: 600, loadPerSec: 0, waitMs: 0, runMs: 13, ...o,
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

  it('demand per access server is the larger of the forecast (streams counted as items) and the measured rate', () => {
    const view = { entries: { a: entry('a', { arrivalRates: { s: 30 } }), b: entry('b', { arrivalRates: { s: 10 } }) } };
    const forecast = [{ serviceId: 's', ratePerServer: { a: 5, b: 40 }, streams: [{ accessServer: 'c', rateHz: 7 }] }];
    const input = buildPlacementInput({ view, services: [service, other], devices, previous: [], minDemandPerSec: 1, leader: 'a', forecast });
    expect(input.demand).toEqual([
      { serviceId: 's', ratePerServer: { a: 30, b: 40, c: 7 } },
      { serviceId: 't', ratePerServer: { a: 1 } },
    ]);
  });

  it('plans for the demand × the margin it is given, and tells placement the factor; without one, the forecast alone', () => {
    const view = { entries: { a: entry('a', { arrivalRates: { s: 40 } }), b: entry('b', { arrivalRates: { s: 8 } }) } };
    const plain = buildPlacementInput({ view, services: [service, other], devices, previous: [], minDemandPerSec: 1, leader: 'a' });
    expect(plain.demandHeadroom).toBeUndefined();
    const input = buildPlacementInput({ view, services: [service, other], devices, previous: [], minDemandPerSec: 1, leader: 'a', demandHeadroom: 1.25 });
    // Every rate, the idle service's floor too, is the forecast × 1.25; placement reads the forecast back as rate ÷ 1.25.
    expect(input.demand).toEqual([
      { serviceId: 's', ratePerServer: { a: 50, b: 10 } },
      { serviceId: 't', ratePerServer: { a: 1.25 } },
    ]);
    expect(input.demandHeadroom).toBe(1.25);
    const result = placeServices(input, { headroomValue: 0.1 });
    expect(result.services.find((s) => s.serviceId === 's')!.servedPerSec).toBeCloseTo(60, 6);
    expect(findPlacementViolations(input, result.instances)).toEqual([]);
  });

  it('the coordinator option is carried when given and must be a finite factor of at least 1', () => {
    const ctx = { services: [service], syncPeriodMs: 100 };
    expect(resolveCoordinatorOptions({ demandHeadroom: 1.25 }, ctx).demandHeadroom).toBe(1.25);
    expect(resolveCoordinatorOptions({}, ctx)).not.toHaveProperty('demandHeadroom');
    for (const bad of [0.8, Number.NaN, Infinity, '2']) {
      let field: unknown;
      try {
        resolveCoordinatorOptions({ demandHeadroom: bad as number }, ctx);
      } catch (err) {
        field = isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
      }
      expect(field).toBe('placement.demandHeadroom');
    }
  });

  it('adopts every co-located host instance on its reported devices, and placement then loads neither again', () => {
    const two = new Map([['a', [{ id: 'g0', kind: 'cpu', memoryBytes: 1e9 }, { id: 'g1', kind: 'cpu', memoryBytes: 1e9 }]]]);
    const view = { entries: { a: entry('a', { arrivalRates: { s: 50, t: 50 }, instances: [info('host-s', 's'), info('host-t', 't')] }) } };
    const hosted = new Map([['a', [{ instanceId: 'host-s', deviceIds: ['g1'] }, { instanceId: 'host-t', deviceIds: ['g1'] }]]]);
    const input = buildPlacementInput({ view, services: [service, other], devices: two, previous: [], minDemandPerSec: 1, leader: 'a', hosted });
    expect(input.current!.map((c) => [c.instanceId, c.deviceIds])).toEqual([['host-s', ['g1']], ['host-t', ['g1']]]);
    const result = placeServices(input);
    expect(findPlacementViolations(input, result.instances)).toEqual([]);
    expect(result.changes.filter((c) => c.action === 'load')).toEqual([]);
    expect(result.instances.map((i) => i.instanceId).sort()).toEqual(['host-s', 'host-t']);
  });

  it('without reported devices, infers them: co-located on the only device rather than leaving one unmanaged', () => {
    const view = { entries: { a: entry('a', { arrivalRates: { s: 50, t: 50 }, instances: [info('host-s', 's'), info('host-t', 't'), info('host-s2', 's')] }) } };
    const input = buildPlacementInput({ view, services: [service, other], devices, previous: [], minDemandPerSec: 1, leader: 'a' });
    // One device: both services share it; a second `s` cannot (one instance per service per device).
    expect(input.current!.map((c) => [c.instanceId, c.deviceIds])).toEqual([['host-s', ['d0']], ['host-t', ['d0']]]);
    const result = placeServices(input);
    expect(result.changes.filter((c) => c.action === 'load')).toEqual([]);
  });

  it('keeps the previous decision before adopting, and ignores reported ids that are not devices of the server', () => {
    const prevPlan = buildPlacementInput({ view: { entries: { a: entry('a') } }, services: [service], devices, previous: [], minDemandPerSec: 1, leader: 'a' }).plans['s']![0]!;
    const previous = [{ instanceId: 'placed-s', serviceId: 's', plan: prevPlan, serverId: 'a', deviceIds: ['d0'] }];
    const view = { entries: { a: entry('a', { instances: [info('placed-s', 's'), info('host-t', 't')] }) } };
    const hosted = new Map([['a', [{ instanceId: 'host-t', deviceIds: ['gpu9'] }]]]);
    const input = buildPlacementInput({ view, services: [service, other], devices, previous, minDemandPerSec: 1, leader: 'a', hosted });
    expect(input.current!.map((c) => [c.instanceId, c.deviceIds])).toEqual([['placed-s', ['d0']], ['host-t', ['d0']]]);
  });
});
