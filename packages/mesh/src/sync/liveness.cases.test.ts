import { describe, expect, it } from 'vitest';
import { Liveness } from './liveness.js';

describe('Liveness eager probes', () => {
  it('keeps a dead server due on every call while its eager probes last, however soon the next call comes', () => {
    // eagerProbes 3: after probes 1 and 2 the gap is 0 (over = -2, -1), so the next call, even 10 ms later,
    // probes again; after probe 3 (over = 0) the gap is 2^0 = 1 period.
    const l = new Liveness({ periodMs: 100, suspicionMs: 300, eagerProbes: 3, maxProbeGapPeriods: 4 });
    expect(l.probesDue(['b'], 0)).toEqual(['b']);
    expect(l.probesDue(['b'], 0)).toEqual(['b']);
    expect(l.probesDue(['b'], 10)).toEqual(['b']);
    expect(l.probesDue(['b'], 20)).toEqual([]);
    expect(l.probesDue(['b'], 109)).toEqual([]);
    expect(l.probesDue(['b'], 110)).toEqual(['b']);
  });
});
