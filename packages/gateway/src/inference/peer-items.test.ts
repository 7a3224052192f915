import type { ClusterView, InstanceInfo, ServerEntry, ServiceItems } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { peerItems } from './peer-items.js';

const ready = (serviceId: string, status: InstanceInfo['status'] = 'ready'): InstanceInfo => ({
  instanceId: `i-${serviceId}`, serviceId, status, requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 8, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 1,
});
const entry = (serverId: string, items: Record<string, ServiceItems> | undefined, o: Partial<ServerEntry> = {}): ServerEntry => ({
  serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances: [ready('s')], load: 0, freeMemoryBytes: 0, arrivalRates: {}, ...(items ? { items } : {}), ...o,
});
const view = (...entries: ServerEntry[]): ClusterView => ({ entries: Object.fromEntries(entries.map((e) => [e.serverId, e])) });
const axes = { inputs: { a: 0, b: 0, k: null }, outputs: { y: 1 } };

describe('peerItems', () => {
  it('gives the batch axes a server that runs the service found its items separable along', () => {
    expect(peerItems(view(entry('w1', { s: { separability: 'unknown' } }), entry('w2', { s: { separability: 'separable', batchAxes: axes } })), 's')).toEqual({ separability: 'separable', batchAxes: axes });
  });

  it('says not-separable when one server found the items mix, whatever another says', () => {
    expect(peerItems(view(entry('w1', { s: { separability: 'separable', batchAxes: axes } }), entry('w2', { s: { separability: 'not-separable' } })), 's')?.separability).toBe('not-separable');
  });

  it('knows nothing from servers that have not checked, say nothing, are dead or have no ready instance', () => {
    const separable = { s: { separability: 'separable' as const, batchAxes: axes } };
    expect(peerItems(view(entry('w1', { s: { separability: 'unknown' } }), entry('w2', undefined)), 's')).toBeUndefined();
    expect(peerItems(view(entry('w1', separable, { alive: false })), 's')).toBeUndefined();
    expect(peerItems(view(entry('w1', separable, { instances: [ready('s', 'loading')] })), 's')).toBeUndefined();
    expect(peerItems(view(entry('w1', separable)), 't')).toBeUndefined();
  });
});
