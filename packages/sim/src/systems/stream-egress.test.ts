import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamEgress } from './stream-egress.js';

describe("the link bytes committed to streams sent on to peers", () => {
  it('moves a stream\'s charge to the access server its frames now leave from, and drops it where they are served', () => {
    const e = new StreamEgress<{ id: number }>(3);
    const a = { id: 0 };
    // Past the arrays' first size: they grow.
    const b = { id: 100 };
    e.charge(a, 0, 600);
    e.charge(b, 0, 150);
    expect(e.committed(0)).toBe(750);
    // a's client reached server 1 (server 0 failed, or the client moved): its frames leave over 1's link now.
    e.charge(a, 1, 600);
    expect([e.committed(0), e.committed(1), e.chargedTo(a)]).toEqual([150, 600, 1]);
    // Charging the same link again changes nothing.
    e.charge(a, 1, 600);
    expect(e.committed(1)).toBe(600);
    // b's client moved to server 2, which hosts b's instance: its frames cross no server link.
    e.charge(b, -1, 150);
    expect([e.committed(0), e.committed(2), e.chargedTo(b)]).toEqual([0, 0, -1]);
    e.charge(a, -1, 0);
    expect([e.committed(0), e.committed(1), e.committed(2)]).toEqual([0, 0, 0]);
  });

  it('each link carries exactly the charges of the streams last charged to it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ stream: fc.nat(4), server: fc.integer({ min: -1, max: 2 }), rate: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 60 }), (steps) => {
        const e = new StreamEgress<{ id: number }>(3);
        const streams = Array.from({ length: 5 }, (_, id) => ({ id }));
        const last = new Map<number, { server: number; rate: number }>();
        for (const s of steps) {
          e.charge(streams[s.stream]!, s.server, s.rate);
          last.set(s.stream, { server: s.server, rate: s.rate });
        }
        for (let server = 0; server < 3; server++) {
          let want = 0;
          for (const c of last.values()) if (c.server === server) want += c.rate;
          expect(e.committed(server)).toBe(want);
        }
        streams.forEach((s, i) => expect(e.chargedTo(s)).toBe(last.get(i)?.server ?? -1));
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
