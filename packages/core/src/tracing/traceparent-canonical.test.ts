import { describe, expect, it } from 'vitest';
import { sanitizeTraceContext } from './trace-context.js';

// A traceparent kept from an untrusted context is always the canonical, lower-case form, whether the value was
// already canonical (returned as it is) or normalised first.
describe('sanitizeTraceContext: the canonical traceparent', () => {
  const ids = `00-${'1'.repeat(32)}-${'2'.repeat(16)}`;

  it('lower-cases flags given in upper case, though the ids (digits only) have no case', () => {
    // Only the flags differ from the canonical form: the ids and the length match it.
    expect(sanitizeTraceContext({ traceparent: `${ids}-0A` })?.traceparent).toBe(`${ids}-0a`);
    expect(sanitizeTraceContext({ traceparent: `${ids}-FF` })?.traceparent).toBe(`${ids}-ff`);
  });

  it('keeps an already canonical value as it is', () => {
    expect(sanitizeTraceContext({ traceparent: `${ids}-0a` })?.traceparent).toBe(`${ids}-0a`);
  });
});
