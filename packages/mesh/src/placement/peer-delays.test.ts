import { describe, expect, it } from 'vitest';
import { PeerDelays } from './peer-delays.js';
import { parsePlacementPayload } from './placement-payload.js';

describe('PeerDelays', () => {
  it('has no model before a measurement, so placement ignores locality', () => {
    expect(new PeerDelays('a').model()).toBeUndefined();
  });

  it('smooths round trips into one-way delays and merges the rows peers report', () => {
    const d = new PeerDelays('a');
    d.sample('b', 1000, 1020); // 20 ms round trip → 10 ms one way
    expect(d.own()).toEqual({ b: 10 });
    d.sample('b', 2000, 2040); // 20 ms one way, smoothed
    expect(d.own()['b']).toBeCloseTo(10 + 0.3 * 10, 9);
    d.sample('b', 3000, 2990); // a negative round trip (clock went back) is ignored
    d.sample('a', 0, 10); // and so is a probe of itself
    expect(Object.keys(d.own())).toEqual(['b']);
    d.report('c', { a: 30, b: 5, c: 99, bad: -1 });
    const m = d.model()!;
    expect(m('a', 'a')).toBe(0);
    expect(m('a', 'b')).toBeCloseTo(13, 9);
    expect(m('c', 'b')).toBe(5);
    expect(m('b', 'c')).toBe(5); // b measured nothing: c's measurement, delays are near symmetric
    expect(m('a', 'c')).toBe(30);
    expect(m('b', 'x')).toBe(13); // nobody measured: the median, never unreachable
  });

  it('probes and delay rows pass the payload parser; malformed ones do not', () => {
    expect(parsePlacementPayload({ kind: 'probe', sentAt: 5, reply: false })).toBeDefined();
    expect(parsePlacementPayload({ kind: 'probe', sentAt: 'x', reply: false })).toBeUndefined();
    expect(parsePlacementPayload({ kind: 'devices', serverId: 'a', devices: [], delaysMs: { b: 3 } })).toBeDefined();
    expect(parsePlacementPayload({ kind: 'devices', serverId: 'a', devices: [], delaysMs: { b: 'x' } })).toBeUndefined();
  });
});
