import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { DEFAULT_ROUTE_OPTIONS, resolveRouteOptions, sendMs } from './route-options.js';

/** The field an `INVALID_OPTIONS` error names, or what was thrown / returned otherwise. */
function refused(options: unknown): unknown {
  try {
    return resolveRouteOptions(options as never);
  } catch (err) {
    return isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
  }
}

describe('resolveRouteOptions', () => {
  it('refuses null and non-objects as the options themselves', () => {
    expect(refused(null)).toBe('options');
    expect(refused(5)).toBe('options');
  });

  it('passes options it resolved through as the same object, and resolves a copy of anything else', () => {
    const resolved = resolveRouteOptions({ guardMs: 3 });
    expect(resolveRouteOptions(resolved)).toBe(resolved);
    expect(Object.isFrozen(resolved)).toBe(true);
    // A plain object with the same fields is validated and copied, not passed through.
    const plain = { ...DEFAULT_ROUTE_OPTIONS, guardMs: 3 };
    expect(resolveRouteOptions(plain)).not.toBe(plain);
    expect(resolveRouteOptions(plain)).toEqual(plain);
  });

  it('keeps the default of a field given as undefined', () => {
    expect(resolveRouteOptions({ hopLimit: undefined, guardMs: undefined })).toEqual(DEFAULT_ROUTE_OPTIONS);
  });

  it('names the field of each bad value', () => {
    expect(refused({ hopLimit: -1 })).toBe('hopLimit');
    for (const field of ['guardMs', 'stalenessFactor', 'defaultDelayMs']) {
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1']) expect(refused({ [field]: bad })).toBe(field);
      expect(refused({ [field]: 0 })).toEqual(expect.objectContaining({ [field]: 0 }));
    }
    // Numbers only: a numeric string compares as a number with > and <, and must not pass.
    expect(refused({ maxEntryAgeMs: '5' })).toBe('maxEntryAgeMs');
    expect(refused({ defaultBandwidthBytesPerMs: '5' })).toBe('defaultBandwidthBytesPerMs');
    expect(refused({ spareMarginFraction: '0.5' })).toBe('spareMarginFraction');
    expect(refused({ maxEntryAgeMs: Number.POSITIVE_INFINITY })).toEqual(expect.objectContaining({ maxEntryAgeMs: Number.POSITIVE_INFINITY }));
  });
});

describe('sendMs', () => {
  const o = resolveRouteOptions({ defaultDelayMs: 5, defaultBandwidthBytesPerMs: 100 });

  it('is the delay plus bytes over bandwidth, from the network model or the defaults', () => {
    expect(sendMs(undefined, 'p', 1000, o)).toBe(15);
    expect(sendMs({ delayMs: { p: 2 }, bandwidthBytesPerMs: { p: 50 } }, 'p', 1000, o)).toBe(22);
    // Another peer's figures do not apply.
    expect(sendMs({ delayMs: { q: 2 }, bandwidthBytesPerMs: { q: 50 } }, 'p', 200, o)).toBe(7);
  });
});
