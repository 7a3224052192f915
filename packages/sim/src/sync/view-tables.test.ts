import { describe, expect, it } from 'vitest';
import { type InstanceInfo, type ServerEntry } from '@epara/core';
import { mergeView, slotsOf } from '@epara/core/internal';
import { createViewTables } from './view-tables.js';

function inst(serviceId: string): InstanceInfo {
  return { instanceId: `${serviceId}-1`, serviceId, status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 4, capacityPerSec: 100, loadPerSec: 10, waitMs: 1, runMs: 5 };
}

function entry(serverId: string, version: number, services: readonly string[]): ServerEntry {
  return { serverId, epoch: 0, version, updatedAt: version, alive: true, instances: services.map(inst), load: 0.1, freeMemoryBytes: 0, arrivalRates: {} };
}

describe('createViewTables', () => {
  const ids = ['seg', 'llm', 'hci'];

  it('slices hold exactly the entries hosting the service, and the view equals the table', () => {
    const t = createViewTables([[0, 1, 2]], ids);
    const table = t.table(0);
    const masks = t.masks(0);
    const es = [entry('a', 1, ['seg']), entry('b', 1, ['llm', 'seg']), entry('c', 1, [])];
    es.forEach((e, i) => {
      table[i] = e;
      masks[i] = t.hostMask(e);
    });
    t.changed(0);
    expect(Object.keys(t.slice(0, 0).entries).sort()).toEqual(['a', 'b']);
    expect(Object.keys(t.slice(0, 1).entries)).toEqual(['b']);
    expect(t.slice(0, 2).entries).toEqual({});
    expect(t.view(0)).toEqual(mergeView({ entries: {} }, { entries: { a: es[0]!, b: es[1]!, c: es[2]! } }));
  });

  it('returns the same snapshot until the table changes, then a new object (core caches per entries object)', () => {
    const t = createViewTables([[0, 1]], ids);
    t.table(1)[0] = entry('a', 1, ['seg']);
    t.masks(1)[0] = t.hostMask(t.table(1)[0]!);
    t.changed(1);
    const first = t.slice(1, 0);
    expect(t.slice(1, 0)).toBe(first);
    t.table(1)[0] = entry('a', 2, ['llm']);
    t.masks(1)[0] = t.hostMask(t.table(1)[0]!);
    t.changed(1);
    const second = t.slice(1, 0);
    expect(second).not.toBe(first);
    expect(second.entries).toEqual({});
    expect(Object.keys(t.slice(1, 1).entries)).toEqual(['a']);
    expect(first.entries['a']!.version).toBe(1);
  });

  it('places each server at its ring position and knows no service beyond the list', () => {
    const t = createViewTables([[4, 2], [7]], ids);
    expect([t.position(4), t.position(2), t.position(7)]).toEqual([0, 1, 0]);
    expect(t.hostMask(entry('x', 1, ['unknown']))).toBe(0);
    expect(t.hostMask(entry('x', 1, ['hci', 'seg']))).toBe(0b101);
  });

  it('gives each slice entry its table position as its slot, and shares the slots while the positions stay', () => {
    const t = createViewTables([[0, 1, 2, 3]], ids);
    const put = (slot: number, e: ServerEntry): void => {
      t.table(0)[slot] = e;
      t.masks(0)[slot] = t.hostMask(e);
      t.changed(0);
    };
    put(1, entry('b', 1, ['seg']));
    put(3, entry('d', 1, ['seg', 'llm']));
    const first = t.slice(0, 0);
    expect(slotsOf(first)).toEqual([1, 3]);
    expect(slotsOf(t.slice(0, 1))).toEqual([3]);
    // A newer entry at the same positions: a new slice, the same slots.
    put(3, entry('d', 2, ['seg']));
    const second = t.slice(0, 0);
    expect(second).not.toBe(first);
    expect(slotsOf(second)).toBe(slotsOf(first));
    // A service placed at another position: new slots.
    put(0, entry('a', 1, ['seg']));
    expect(slotsOf(t.slice(0, 0))).toEqual([0, 1, 3]);
    expect(Object.keys(t.slice(0, 0).entries)).toEqual(['a', 'b', 'd']);
  });
});
