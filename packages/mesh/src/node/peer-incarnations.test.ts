import { describe, expect, it } from 'vitest';
import { newIncarnation, PeerIncarnations } from './peer-incarnations.js';

const run = (epoch: number, instance: number): { epoch: number; instance: number } => ({ epoch, instance });

describe('PeerIncarnations', () => {
  it('keeps every link of one run, and of a peer that announces none', () => {
    const p = new PeerIncarnations();
    expect(p.admit('n1', run(10, 1), false)).toBe('current');
    expect(p.admit('n1', run(10, 1), true)).toBe('current');
    expect(p.admit('n1', undefined, true)).toBe('current');
    expect(p.isCurrent('n1', run(10, 1))).toBe(true);
    expect(p.isCurrent('n1', undefined)).toBe(true);
  });

  it('a newer run replaces the linked one, which is refused for good after', () => {
    const p = new PeerIncarnations();
    p.admit('n1', run(10, 1), false);
    expect(p.admit('n1', run(20, 2), true)).toBe('replaces');
    expect(p.isCurrent('n1', run(10, 1))).toBe(false);
    expect(p.isCurrent('n1', run(20, 2))).toBe(true);
    // The old run, resumed, redials: refused even once the new run's links are gone.
    expect(p.admit('n1', run(10, 1), true)).toBe('refused');
    expect(p.admit('n1', run(10, 1), false)).toBe('refused');
    // Other peers are not affected.
    expect(p.admit('n2', run(10, 1), false)).toBe('current');
  });

  it('two runs with one epoch: the newer link wins, and the loser stays out', () => {
    const p = new PeerIncarnations();
    p.admit('n1', run(10, 1), false);
    expect(p.admit('n1', run(10, 2), true)).toBe('replaces');
    expect(p.admit('n1', run(10, 1), true)).toBe('refused');
  });

  it('refuses a run older than the linked one while its links are open, and takes it once none is', () => {
    const p = new PeerIncarnations();
    p.admit('n1', run(20, 2), false);
    // A stopped process that resumes and first reaches this node after its replacement did.
    expect(p.admit('n1', run(10, 1), true)).toBe('refused');
    expect(p.isCurrent('n1', run(20, 2))).toBe(true);
    // A restart whose clock stepped back gets in once the run it replaced has no link left.
    expect(p.admit('n1', run(5, 3), false)).toBe('current');
    expect(p.isCurrent('n1', run(5, 3))).toBe(true);
  });

  it('draws a fresh instance per process: an integer a double carries exactly', () => {
    const a = newIncarnation(7);
    const b = newIncarnation(7);
    expect(a.epoch).toBe(7);
    expect(Number.isSafeInteger(a.instance) && a.instance >= 0).toBe(true);
    expect(a.instance).not.toBe(b.instance);
  });
});
