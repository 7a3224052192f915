import { describe, expect, it } from 'vitest';
import type { ClusterView, InstanceInfo, ServerEntry } from '@epara/core';
import { nodeRows } from './node-rows.js';
import { PlacementLog } from './placement-log.js';
import { RequestMeter, percentile } from './request-meter.js';

const instance = (id: string, serviceId: string, extra: Partial<InstanceInfo> = {}): InstanceInfo => ({
  instanceId: id,
  serviceId,
  status: 'ready',
  requestStrategy: 'batching',
  serviceStrategy: 'single',
  batchSize: 4,
  capacityPerSec: 100,
  loadPerSec: 10,
  waitMs: 2,
  runMs: 5,
  ...extra,
});

const entry = (serverId: string, updatedAt: number, alive: boolean, instances: InstanceInfo[] = []): ServerEntry => ({
  serverId,
  epoch: 1,
  version: 1,
  updatedAt,
  alive,
  instances,
  load: 0.5,
  freeMemoryBytes: 1e9,
  arrivalRates: {},
});

describe('RequestMeter', () => {
  it('turns one interval of completions into rates, attainment, percentiles and drops (late results are drops)', () => {
    const m = new RequestMeter();
    for (let i = 1; i <= 8; i++) m.record('s', { ok: true, latencyMs: i * 10, deadlineMet: true });
    m.record('s', { ok: true, latencyMs: 500, deadlineMet: false });
    m.record('s', { ok: false, latencyMs: 0, deadlineMet: false, code: 'OVERLOADED' });
    const v = m.take(2, new Map([['s', 7], ['idle', 1]]));
    expect(v.get('s')).toEqual({ offeredCluster: 7, offered: 5, goodput: 4, attainment: 0.8, p50Ms: 50, p99Ms: 500, drops: { LATE: 0.5, OVERLOADED: 0.5 } });
    expect(v.get('idle')).toEqual({ offeredCluster: 1, offered: 0, goodput: 0, attainment: null, p50Ms: null, p99Ms: null, drops: {} });
    expect(m.take(1, new Map()).size).toBe(0);
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
  });
});

describe('nodeRows', () => {
  it('marks an alive but stale entry suspected, a dead one dead with its reason, a vanished one dead', () => {
    const view: ClusterView = {
      entries: {
        a: entry('a', 0, true, [instance('a#1', 's', { deviceIds: ['gpu0'] }), instance('a#2', 't', { status: 'draining' })]),
        b: entry('b', 9_000, true),
        c: entry('c', 9_900, true, [instance('c#1', 's')]),
        d: entry('d', 5_000, false, [instance('d#1', 's')]),
      },
    };
    const rows = nodeRows({
      view,
      self: 'a',
      leader: 'b',
      now: 10_000,
      suspectAfterMs: 500,
      gone: new Map([['e', { epoch: 3, lastSeenAt: 8_000 }]]),
      leftReasons: new Map([['d', 'ack-timeout']]),
      categoryOf: (s) => (s === 's' ? 'latency · single' : 'frequency · single'),
      placedDevices: new Map([['c', new Map([['c#1', ['cpu1']]])]]),
    });
    expect(rows.map((r) => [r.id, r.health])).toEqual([['a', 'alive'], ['b', 'suspected'], ['c', 'alive'], ['d', 'dead'], ['e', 'dead']]);
    expect(rows[1]).toMatchObject({ leader: true, viewAgeMs: 1000 });
    expect(rows[0]!.devices.map((d) => [d.deviceId, d.instances.map((i) => `${i.serviceId}:${i.status}`)])).toEqual([
      ['devices not reported', ['t:DRAINING']],
      ['gpu0', ['s:READY']],
    ]);
    expect(rows[2]!.devices[0]!.deviceId).toBe('cpu1');
    expect(rows[3]).toMatchObject({ leftReason: 'ack-timeout', devices: [] });
    expect(rows[4]).toMatchObject({ leftReason: 'removed from the view', viewAgeMs: 2000, epoch: 3 });
  });
});

describe('PlacementLog', () => {
  it('explains view changes by the last decision, or by a failure when the server died', () => {
    const log = new PlacementLog(10);
    log.observe(0, { entries: { a: entry('a', 0, true, [instance('a#1', 's')]), b: entry('b', 0, true, [instance('b#1', 's')]) } });
    log.observe(1_000, { entries: { a: entry('a', 1_000, true, [instance('a#1', 's'), instance('a#2', 's')]), b: entry('b', 0, true, [instance('b#1', 's')]) } });
    expect(log.rows[0]).toMatchObject({ kind: 'observed', server: 'a', reason: 'unknown' });
    log.applied(2_000, 'a', { leader: 'a', seq: 2, trigger: 'period', loaded: ['a#3'], unloaded: [], failed: [] });
    log.observe(2_500, { entries: { a: entry('a', 2_500, true, [instance('a#1', 's'), instance('a#2', 's'), instance('a#3', 's')]), b: entry('b', 0, false, [instance('b#1', 's')]) } });
    expect(log.rows.slice(0, 3).map((r) => [r.kind, r.server, r.reason])).toEqual([
      ['observed', 'b', 'failure'],
      ['observed', 'a', 'period'],
      ['applied', 'a', 'period'],
    ]);
  });
});
