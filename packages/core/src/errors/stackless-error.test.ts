import { describe, expect, it } from 'vitest';
import { EparaError } from './epara-error.js';
import { stacklessError } from './stackless-error.js';

describe('stacklessError', () => {
  it('is an EparaError like any other, with no stack frames, and leaves the process limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const e = stacklessError('OVERLOADED', 'queue is full', { serviceId: 's' });
    expect(e).toBeInstanceOf(EparaError);
    expect(e.toJSON()).toEqual({ name: 'EparaError', code: 'OVERLOADED', message: 'queue is full', details: { serviceId: 's' } });
    expect(e.stack?.split('\n').filter((l) => l.trimStart().startsWith('at '))).toEqual([]);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new EparaError('OVERLOADED', 'x').stack).toMatch(/\n\s+at /);
  });
});
