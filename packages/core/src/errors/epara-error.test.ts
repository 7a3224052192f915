import { describe, expect, it } from 'vitest';
import {
  EPARA_ERROR_CODES,
  EparaError,
  eparaErrorFromJSON,
  invalidOption,
  isEparaError,
  isEparaErrorCode,
  toEparaError,
} from './epara-error.js';

describe('EparaError', () => {
  it('carries code, message and details, and is an Error', () => {
    const err = new EparaError('OVERLOADED', 'busy', { serverId: 'a' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('EparaError');
    expect(err.code).toBe('OVERLOADED');
    expect(err.details).toEqual({ serverId: 'a' });
  });

  it('round-trips through JSON with its code (errors crossing the wire keep their code)', () => {
    const err = new EparaError('DEADLINE_INFEASIBLE', 'too late', { deadline: 5 });
    const back = eparaErrorFromJSON(JSON.parse(JSON.stringify(err)));
    expect(back.code).toBe('DEADLINE_INFEASIBLE');
    expect(back.message).toBe('too late');
    expect(back.details).toEqual({ deadline: 5 });
  });

  it('turns an unknown or malformed wire error into INTERNAL', () => {
    expect(eparaErrorFromJSON({ code: 'NOPE', message: 'x' }).code).toBe('INTERNAL');
    expect(eparaErrorFromJSON(null).code).toBe('INTERNAL');
    expect(eparaErrorFromJSON('str').message).toBe('remote error');
  });

  it('isEparaError recognizes a copy from another module instance by its global brand', () => {
    const foreign = Object.defineProperty({ code: 'CLOSED' }, Symbol.for('epara.error'), { value: true });
    expect(isEparaError(foreign)).toBe(true);
    expect(isEparaError(new Error('plain'))).toBe(false);
    expect(isEparaError(null)).toBe(false);
  });

  it('isEparaErrorCode accepts exactly the code table', () => {
    for (const code of EPARA_ERROR_CODES) expect(isEparaErrorCode(code)).toBe(true);
    expect(isEparaErrorCode('nope')).toBe(false);
    expect(isEparaErrorCode(3)).toBe(false);
    expect(new Set(EPARA_ERROR_CODES).size).toBe(EPARA_ERROR_CODES.length);
  });

  it('toEparaError wraps foreign errors and keeps EparaErrors', () => {
    const own = new EparaError('ABORTED', 'stop');
    expect(toEparaError(own)).toBe(own);
    const wrapped = toEparaError(new TypeError('boom'), 'MODEL_ERROR');
    expect(wrapped.code).toBe('MODEL_ERROR');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    expect(toEparaError('text').code).toBe('INTERNAL');
  });

  it('invalidOption throws INVALID_OPTIONS quoting field, value and expectation', () => {
    let caught: unknown;
    try {
      invalidOption('hopLimit', -1, 'an integer >= 0');
    } catch (err) {
      caught = err;
    }
    expect(isEparaError(caught)).toBe(true);
    const err = caught as EparaError;
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toContain('hopLimit');
    expect(err.message).toContain('-1');
    expect(err.details).toMatchObject({ field: 'hopLimit', value: '-1', expected: 'an integer >= 0' });
  });
});
