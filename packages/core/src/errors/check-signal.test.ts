import { describe, expect, it } from 'vitest';
import { checkSignal, isAbortSignalLike, signalError } from './check-signal.js';
import { eparaErrorFromJSON, EparaError, invalidOption, isEparaError } from './epara-error.js';

const listener = (): void => undefined;
const like = { aborted: false, addEventListener: listener, removeEventListener: listener };

describe('isAbortSignalLike', () => {
  it('accepts a platform signal, and any object or function with a boolean `aborted` and both listener methods', () => {
    expect(isAbortSignalLike(new AbortController().signal)).toBe(true);
    expect(isAbortSignalLike(like)).toBe(true);
    expect(isAbortSignalLike({ ...like, aborted: true })).toBe(true);
    expect(isAbortSignalLike(Object.assign(() => undefined, like))).toBe(true);
  });

  it('refuses what lacks any part, or is not an object', () => {
    for (const bad of [
      undefined,
      null,
      'stop',
      1,
      true,
      {},
      { ...like, aborted: 'false' },
      { ...like, aborted: undefined },
      { ...like, addEventListener: undefined },
      { ...like, removeEventListener: 'nope' },
      Object.assign(() => undefined, { aborted: false }),
    ]) {
      expect(isAbortSignalLike(bad)).toBe(false);
    }
  });
});

describe('checkSignal and signalError', () => {
  it('let no signal (undefined or null) and a signal-like value through', () => {
    for (const ok of [undefined, null, like, new AbortController().signal]) {
      expect(() => checkSignal(ok)).not.toThrow();
      expect(signalError(ok)).toBeUndefined();
    }
  });

  it('reject anything else with INVALID_OPTIONS naming the field (`signal` unless told)', () => {
    let thrown: unknown;
    try {
      checkSignal('stop');
    } catch (err) {
      thrown = err;
    }
    expect(isEparaError(thrown) && thrown.code === 'INVALID_OPTIONS' && thrown.details['field'] === 'signal').toBe(true);
    expect(signalError({ aborted: 0 })).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'signal' } });
    expect(signalError(5, 'options.signal')).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'options.signal', value: '5' } });
    expect(() => checkSignal({}, 'cancel')).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'cancel' }) }));
  });
});

describe('invalidOption details', () => {
  const valueOf = (v: unknown): unknown => {
    try {
      invalidOption('f', v, 'something');
    } catch (err) {
      return isEparaError(err) ? err.details['value'] : err;
    }
    return 'did not throw';
  };

  it('quotes scalars as text (NaN and Infinity included, which JSON would turn into null)', () => {
    expect(valueOf('text')).toBe('text');
    expect(valueOf(5)).toBe('5');
    expect(valueOf(Number.NaN)).toBe('NaN');
    expect(valueOf(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(valueOf(false)).toBe('false');
    expect(valueOf(undefined)).toBe('undefined');
    expect(valueOf(null)).toBe('null');
  });

  it('quotes objects as JSON cut at 80 characters, and what JSON cannot write by its tag or text', () => {
    expect(valueOf({ a: 1 })).toBe('{"a":1}');
    const long = valueOf(Array.from({ length: 100 }, (_, i) => i)) as string;
    expect(long).toHaveLength(80);
    expect(long.startsWith('[0,1,2,3')).toBe(true);
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(valueOf(circular)).toBe('[object Object]');
    expect(valueOf(10n)).toBe('[object BigInt]');
    const f = function named(): number {
      return 1;
    };
    expect(valueOf(f)).toBe(String(f));
  });

  it('names the field and the expectation, and the message says the type', () => {
    try {
      invalidOption('batch', null, 'a number');
    } catch (err) {
      expect(err).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'batch', value: 'null', expected: 'a number' } });
      expect((err as Error).message).toContain('(null)');
      return;
    }
    expect.unreachable();
  });
});

describe('isEparaError and eparaErrorFromJSON edges', () => {
  it('isEparaError is false, never a throw, for undefined, null and primitives', () => {
    for (const v of [undefined, null, 0, 'EparaError', Symbol('x')]) expect(isEparaError(v)).toBe(false);
  });

  it('keeps an object `details` across the wire and drops anything else', () => {
    const sent = JSON.parse(JSON.stringify(new EparaError('OVERLOADED', 'busy', { serverId: 'a', queue: 3 }))) as unknown;
    expect(eparaErrorFromJSON(sent).details).toEqual({ serverId: 'a', queue: 3 });
    for (const details of [null, 'x', 7, undefined]) {
      expect(eparaErrorFromJSON({ code: 'OVERLOADED', message: 'm', details }).details).toEqual({});
    }
    expect(eparaErrorFromJSON({ code: 'OVERLOADED' }).message).toBe('remote error');
  });
});
