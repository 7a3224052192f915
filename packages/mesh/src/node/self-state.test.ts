import { describe, expect, it } from 'vitest';
import type { InstanceInfo, LocalExecutor } from '@epara/core';
import { ArrivalMeter } from './arrival-meter.js';
import { readSelfState } from './self-state.js';

const info = (serviceId: string, waitMs: number): InstanceInfo => ({
  instanceId: `a/${serviceId}`, serviceId, status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 10, waitMs, runMs: 5,
});
const executor = { instances: () => [info('s', 10.4), info('t', 7)] } as unknown as LocalExecutor;

describe('readSelfState', () => {
  it("announces each instance's wait scaled by the node's measured correction for its service, rounded", () => {
    const base = { executor, meter: new ArrivalMeter(0, 1000), now: 0, devices: [], services: [], address: undefined };
    expect(readSelfState(base).instances.map((i) => i.waitMs)).toEqual([10, 7]);
    const scaled = readSelfState({ ...base, waitScale: (id) => (id === 's' ? 2.5 : 1) });
    expect(scaled.instances.map((i) => i.waitMs)).toEqual([26, 7]);
  });
});

describe('readSelfState items', () => {
  const base = { meter: new ArrivalMeter(0, 1000), now: 0, devices: [], services: [], address: undefined };
  it('publishes, per service with a ready instance, what the executor found of its items and their batch axes', () => {
    const axes = { inputs: { x: 1, k: null }, outputs: { y: 0 } };
    const checked = {
      instances: () => [info('s', 1), info('t', 1), { ...info('u', 1), status: 'loading' as const }],
      itemSeparability: (id: string) => (id === 's' ? 'separable' : undefined),
      batchAxes: (id: string) => (id === 's' ? axes : undefined),
    } as unknown as LocalExecutor;
    expect(readSelfState({ ...base, executor: checked }).items).toEqual({ s: { separability: 'separable', batchAxes: axes }, t: { separability: 'unknown' } });
  });
  it('publishes none for an executor that does not say', () => {
    expect(readSelfState({ ...base, executor }).items).toBeUndefined();
  });
});
