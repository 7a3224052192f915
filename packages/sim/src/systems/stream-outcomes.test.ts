import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamOutcomes } from './stream-outcomes.js';

describe('outcomes of pinned streams', () => {
  it('judges a stream failing only at the end of a window with too few frames answered', () => {
    const o = new StreamOutcomes<{ readonly id: number }>(20, 0.1);
    const hopeless = { id: 0 };
    const fine = { id: 1 };
    for (let i = 0; i < 19; i++) {
      expect(o.sent(hopeless)).toBe(false);
      expect(o.sent(fine)).toBe(false);
      o.served(fine);
    }
    o.served(hopeless);
    // The 20th frame closes the window: one answered of 20 is failing, nineteen is not.
    expect(o.sent(hopeless)).toBe(true);
    expect(o.sent(fine)).toBe(false);
    // A new window starts from zero.
    for (let i = 0; i < 19; i++) expect(o.sent(hopeless)).toBe(false);
    o.served(hopeless);
    o.served(hopeless);
    expect(o.sent(hopeless)).toBe(false);
  });

  it('ignores answers of a stream it never saw send, and forgets ended streams', () => {
    const o = new StreamOutcomes<{ readonly id: number }>(2, 0.5);
    const s = { id: 3 };
    o.served(s);
    expect(o.sent(s)).toBe(false);
    expect(o.sent(s)).toBe(true);
    o.sent(s);
    o.served(s);
    o.forget(s);
    o.sent(s);
    expect(o.sent(s)).toBe(true);
  });

  it('flags a window exactly when fewer than below × window frames were answered (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), (window, below, answered) => {
        const o = new StreamOutcomes<{ readonly id: number }>(window, below);
        const s = { id: 200 };
        let served = 0;
        let sent = 0;
        let seen = false;
        for (const a of answered) {
          if (a) o.served(s);
          const verdict = o.sent(s);
          // An answer noted before the stream's first frame is ignored; afterwards each counts in the current window.
          if (a && seen) served++;
          seen = true;
          sent++;
          if (sent === window) {
            expect(verdict).toBe(served < window * below);
            sent = 0;
            served = 0;
          } else expect(verdict).toBe(false);
        }
      }),
    );
  });
});
