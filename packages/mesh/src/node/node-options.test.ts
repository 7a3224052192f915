import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createMemoryTransport } from '../transport/memory-transport.js';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { NODE_DEFAULTS, resolveNodeOptions } from './node-options.js';
import type { NodeOptions } from './node-options.js';

const base = (): NodeOptions => ({
  id: 'a',
  transport: createMemoryTransport(),
  executor: createFakeExecutor({ services: {} }),
  security: { psk: 'sixteen-bytes-key!' },
});

const fieldOf = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
  }
  return undefined;
};

describe('resolveNodeOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveNodeOptions(base());
    expect(o.syncPeriodMs).toBe(NODE_DEFAULTS.syncPeriodMs);
    expect(o.placementPeriodMs).toBe(30_000);
    expect(o.hopLimit).toBe(2);
    expect(o.placement).toEqual({ minDemandPerSec: 1 });
  });

  it('requires security: a key of 16+ bytes, or insecure spelled out', () => {
    const { security: _s, ...noSecurity } = base();
    expect(fieldOf(() => resolveNodeOptions(noSecurity as NodeOptions))).toBe('security');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), security: { psk: 'short' } }))).toBe('security.psk');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), security: { insecure: false as unknown as true } }))).toBe('security.insecure');
    expect(resolveNodeOptions({ ...base(), security: { insecure: true } }).security).toEqual({ insecure: true });
  });

  it('names the bad field', () => {
    expect(fieldOf(() => resolveNodeOptions({ ...base(), id: '' }))).toBe('id');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), syncPeriodMs: 0 }))).toBe('syncPeriodMs');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), hopLimit: 1.5 }))).toBe('hopLimit');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), executor: {} as never }))).toBe('executor');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), syncFaults: { lossProbability: 2 } }))).toBeUndefined();
  });
});
