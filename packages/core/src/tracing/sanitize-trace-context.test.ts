import { describe, expect, it } from 'vitest';
import { sanitizeTraceContext } from './trace-context.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('sanitizeTraceContext edges', () => {
  it('is undefined, never a throw, for null and non-objects', () => {
    expect(sanitizeTraceContext(null as never)).toBeUndefined();
    expect(sanitizeTraceContext(TP as never)).toBeUndefined();
    expect(sanitizeTraceContext(Object.assign(() => undefined, { requestId: 'r', traceparent: TP }) as never)).toBeUndefined();
  });

  it('refuses a traceparent longer than 512 characters, even of a later version that may carry more fields', () => {
    const later = (length: number): string => `01${TP.slice(2)}-`.padEnd(length, 'x');
    expect(sanitizeTraceContext({ traceparent: later(512) })?.traceparent).toBe(TP);
    expect(sanitizeTraceContext({ traceparent: later(513) })).toBeUndefined();
  });

  it('keeps a tracestate only beside a valid traceparent, as a string of at most 512 characters', () => {
    expect(sanitizeTraceContext({ traceparent: TP, tracestate: 'k='.padEnd(512, 'v') })?.tracestate).toHaveLength(512);
    expect(Object.keys(sanitizeTraceContext({ traceparent: TP, tracestate: 'k='.padEnd(513, 'v') })!)).toEqual(['traceparent']);
    expect(Object.keys(sanitizeTraceContext({ traceparent: TP, tracestate: 7 })!)).toEqual(['traceparent']);
    expect(sanitizeTraceContext({ traceparent: 'bad', tracestate: 'k=v', requestId: 'r' })).toStrictEqual({ requestId: 'r' });
  });

  it('writes only the fields it keeps (no key left undefined)', () => {
    expect(Object.keys(sanitizeTraceContext({ traceparent: TP })!)).toEqual(['traceparent']);
    expect(Object.keys(sanitizeTraceContext({ traceparent: TP, requestId: 'r' })!)).toEqual(['traceparent', 'requestId']);
    expect(Object.keys(sanitizeTraceContext({ requestId: 'r' })!)).toEqual(['requestId']);
  });

  it('passes a canonical traceparent as it is and rewrites any other valid one to canonical version 00', () => {
    expect(sanitizeTraceContext({ traceparent: TP })?.traceparent).toBe(TP);
    // A later version of the canonical length, one with an extra field, padding, capitals: all become `00-…`.
    expect(sanitizeTraceContext({ traceparent: `01${TP.slice(2)}` })?.traceparent).toBe(TP);
    expect(sanitizeTraceContext({ traceparent: `01${TP.slice(2)}-more` })?.traceparent).toBe(TP);
    expect(sanitizeTraceContext({ traceparent: `${TP} ` })?.traceparent).toBe(TP);
    expect(sanitizeTraceContext({ traceparent: ` ${TP}` })?.traceparent).toBe(TP);
    expect(sanitizeTraceContext({ traceparent: TP.toUpperCase() })?.traceparent).toBe(TP);
  });
});
