import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatTraceparent, parseTraceparent, sanitizeTraceContext } from './trace-context.js';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));

describe('traceparent', () => {
  it('parses the spec example and formats it back', () => {
    const v = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(v)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
    expect(formatTraceparent(parseTraceparent(v)!)).toBe(v);
  });

  it('refuses malformed values, version ff, zero ids, and extra fields on version 00', () => {
    for (const bad of [
      '',
      'garbage',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      42,
      undefined,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    // A later version may append fields.
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more')?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('round-trips any valid id pair', () => {
    fc.assert(
      fc.property(hex(32), hex(16), fc.integer({ min: 0, max: 255 }), (traceId, spanId, flags) => {
        fc.pre(!/^0+$/.test(traceId) && !/^0+$/.test(spanId));
        expect(parseTraceparent(formatTraceparent({ traceId, spanId, flags }))).toEqual({ traceId, spanId, flags });
      }),
    );
  });

  it('sanitizes untrusted contexts field by field', () => {
    expect(sanitizeTraceContext({ traceparent: 'bad', requestId: 'r-1' })).toEqual({ requestId: 'r-1' });
    expect(sanitizeTraceContext({ traceparent: 'bad', requestId: 'has space' })).toBeUndefined();
    expect(sanitizeTraceContext({ requestId: 'x'.repeat(129) })).toBeUndefined();
    expect(sanitizeTraceContext({ traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', tracestate: 'a=b' })).toEqual({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'a=b',
    });
    expect(sanitizeTraceContext(undefined)).toBeUndefined();
  });
});
