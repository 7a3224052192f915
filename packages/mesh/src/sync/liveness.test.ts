import { describe, expect, it } from 'vitest';
import { Liveness } from './liveness.js';

const config = { periodMs: 100, suspicionMs: 300, eagerProbes: 2, maxProbeGapPeriods: 4 };

describe('Liveness', () => {
  it('a successor is dead once its latest sign of life (own stamp or a message from it) is suspicionMs old', () => {
    const l = new Liveness(config);
    // stamped at 100: suspected until 399, dead from 400
    expect(l.isDead('b', 100, 399)).toBe(false);
    expect(l.isDead('b', 100, 400)).toBe(true);
    // a message straight from it at 250 is the fresher sign: dead only from 550
    l.heard('b', 250);
    expect(l.isDead('b', 100, 549)).toBe(false);
    expect(l.isDead('b', 100, 550)).toBe(true);
    // a stamp fresher than the message wins
    expect(l.isDead('b', 500, 799)).toBe(false);
    // what was heard from another server does not count for this one
    expect(l.isDead('c', 100, 400)).toBe(true);
  });

  it('probes a dead server every round for eagerProbes rounds, then backs off exponentially up to the cap', () => {
    const l = new Liveness(config);
    const sentAt: number[] = [];
    for (let t = 0; t <= 3000; t += 50) if (l.probesDue(['b'], t).length > 0) sentAt.push(t);
    // after probe k, over = k − eagerProbes; gap = 0 while over < 0, else 2^floor(over/2) periods, capped at 4:
    // gaps 0, 1, 1, 2, 2, 4, 4, 4, ... periods (checked every half period, so a gap of 0 shows)
    expect(sentAt.slice(0, 10)).toEqual([0, 50, 150, 250, 450, 650, 1050, 1450, 1850, 2250]);
  });

  it('books probes per server and lists only the due ones, in the order given', () => {
    const l = new Liveness({ ...config, eagerProbes: 0 });
    expect(l.probesDue(['b', 'c'], 0)).toEqual(['b', 'c']);
    // eagerProbes 0: after the first probe, over = 1, gap 2^0 = 1 period
    expect(l.probesDue(['b', 'c'], 50)).toEqual([]);
    expect(l.probesDue(['c', 'b'], 100)).toEqual(['c', 'b']);
    expect(l.probesDue(['b'], 200)).toEqual([]); // over = 2: gap 2 periods, next at 300
    expect(l.probesDue(['b'], 300)).toEqual(['b']);
  });

  it('revived restarts the schedule: the next death is probed eagerly again', () => {
    const l = new Liveness({ ...config, eagerProbes: 0 });
    l.probesDue(['b'], 0);
    l.probesDue(['b'], 100);
    expect(l.probesDue(['b'], 200)).toEqual([]);
    l.revived('b');
    expect(l.probesDue(['b'], 200)).toEqual(['b']);
  });
});
