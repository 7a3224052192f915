import { describe, expect, it } from 'vitest';
import { deviceKindsOf } from './device-kinds.js';

describe('deviceKindsOf edges', () => {
  it('names servers that are not an array', () => {
    expect(() => deviceKindsOf('servers' as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'servers' }) }));
    expect(deviceKindsOf([])).toEqual([]);
    expect(() => deviceKindsOf([null as never])).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'servers[0].devices' }) }));
  });

  it('counts per server the devices a plan of each size fits, keeping the most over servers', () => {
    const kinds = deviceKindsOf([
      { id: 'a', devices: [{ id: 'c0', kind: 'cpu', memoryBytes: 8 }, { id: 'c1', kind: 'cpu', memoryBytes: 8 }] },
      { id: 'b', devices: [{ id: 'c0', kind: 'cpu', memoryBytes: 8 }, { id: 'c1', kind: 'cpu', memoryBytes: 8 }, { id: 'c2', kind: 'cpu', memoryBytes: 16 }] },
      { id: 'c', devices: [{ id: 'c0', kind: 'cpu', memoryBytes: 8 }] },
    ]);
    expect(kinds).toEqual([
      { kind: 'cpu', memoryBytes: 8, maxPerServer: 3 },
      { kind: 'cpu', memoryBytes: 16, maxPerServer: 1 },
    ]);
  });
});

describe('deviceKindsOf order', () => {
  it('sorts by kind name, then by memory, whatever the order servers list them in', () => {
    const kinds = deviceKindsOf([{ id: 'a', devices: [{ id: 'g', kind: 'gpu', memoryBytes: 4 }, { id: 'c2', kind: 'cpu', memoryBytes: 16 }, { id: 'c1', kind: 'cpu', memoryBytes: 8 }] }]);
    expect(kinds.map((k) => `${k.kind}:${k.memoryBytes}`)).toEqual(['cpu:8', 'cpu:16', 'gpu:4']);
  });
});
