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

describe('Liveness bookkeeping', () => {
  it('counts each server it keeps something for once; retain keeps only the known ones, forget drops one', () => {
    // eagerProbes 0: after its first probe a dead server waits a period for the next.
    const l = new Liveness({ periodMs: 100, suspicionMs: 300, eagerProbes: 0, maxProbeGapPeriods: 8 });
    l.heard('a', 1000);
    l.heard('b', 1000);
    expect(l.probesDue(['b', 'c', 'd'], 1000)).toEqual(['b', 'c', 'd']);
    expect(l.size).toBe(4);
    expect(l.probesDue(['b', 'c', 'd'], 1050)).toEqual([]);
    l.retain((id) => id === 'a' || id === 'c');
    expect(l.size).toBe(2);
    // a's message is still its sign of life; b's is gone, so only its stamp speaks for it.
    expect(l.isDead('a', 0, 1200)).toBe(false);
    expect(l.isDead('b', 0, 1200)).toBe(true);
    // c keeps its probe schedule; d, dropped, starts afresh.
    expect(l.probesDue(['c', 'd'], 1050)).toEqual(['d']);
    l.forget('a');
    expect(l.isDead('a', 0, 1200)).toBe(true);
    expect(l.size).toBe(2); // c and d
    l.forget('c');
    expect(l.probesDue(['c'], 1060)).toEqual(['c']);
  });
});
