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
