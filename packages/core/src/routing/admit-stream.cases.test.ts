import { describe, expect, it } from 'vitest';
import { createView } from '../view/merge-view.js';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { admitStream } from './admit-stream.js';

const inst = (instanceId: string, capacityPerSec: number, loadPerSec: number): InstanceInfo => ({
  instanceId,
  serviceId: 'video',
  status: 'ready',
  requestStrategy: 'multi-frame',
  serviceStrategy: 'single',
  batchSize: 4,
  capacityPerSec,
  loadPerSec,
  waitMs: 0,
  runMs: 40,
});
const server = (serverId: string, instances: InstanceInfo[], updatedAt: number): ServerEntry => ({
  serverId,
  epoch: 1,
  version: 1,
  updatedAt,
  alive: true,
  instances,
  load: 0.5,
  freeMemoryBytes: 0,
  arrivalRates: {},
});
const stream = { serviceId: 'video', rateHz: 10 };

describe('admitStream: which peer entries count', () => {
  it('measures an entry’s age from its own updatedAt: written at 5000, it is fresh until 5100', () => {
    const view = createView([server('p', [inst('p1', 100, 0)], 5000)]);
    const ask = (now: number) => admitStream({ stream, localInstances: [], view, self: 'me', now, options: { maxEntryAgeMs: 100 } });
    expect(ask(5050)).toMatchObject({ action: 'forward', serverId: 'p' });
    expect(ask(5100)).toMatchObject({ action: 'forward', serverId: 'p' });
    expect(ask(5101)).toMatchObject({ action: 'reject', code: 'NO_INSTANCE' });
  });

  it('never forwards to its own entry in the view (its instances are the exact local list)', () => {
    // The view still shows a roomy instance on this server; the local list, which is exact, has none.
    const view = createView([server('me', [inst('m1', 100, 0)], 0)]);
    expect(admitStream({ stream, localInstances: [], view, self: 'me', now: 0 })).toMatchObject({ action: 'reject', code: 'NO_INSTANCE' });
  });
});
