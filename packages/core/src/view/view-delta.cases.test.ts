import { describe, expect, it } from 'vitest';
import { createView } from './merge-view.js';
import type { ServerEntry } from './server-entry.js';
import { applyDelta, versionVector, viewDelta } from './view-delta.js';

const entry = (serverId: string, epoch: number, version: number, extra: Partial<ServerEntry> = {}): ServerEntry => ({
  serverId,
  epoch,
  version,
  updatedAt: epoch * 10 + version,
  alive: true,
  instances: [],
  load: version / 10,
  freeMemoryBytes: 0,
  arrivalRates: {},
  ...extra,
});

describe('applyDelta', () => {
  const view = createView([entry('a', 1, 5), entry('b', 2, 0)]);

  it('ignores an entry older than the one the view holds, and returns the view itself', () => {
    const out = applyDelta(view, [entry('a', 1, 3)]);
    expect(out).toBe(view);
    expect(out.entries['a']!.version).toBe(5);
  });

  it('returns the view itself for an entry equal to its own (a copy, not the same object)', () => {
    expect(applyDelta(view, [{ ...view.entries['a']! }])).toBe(view);
  });

  it('takes a newer entry without touching the view it was given', () => {
    const out = applyDelta(view, [entry('a', 1, 6)]);
    expect(out).not.toBe(view);
    expect(out.entries['a']!.version).toBe(6);
    expect(out.entries['b']).toBe(view.entries['b']);
    expect(view.entries['a']!.version).toBe(5);
  });

  it('within one delta, a later older entry loses to an earlier newer one of the same server', () => {
    const out = applyDelta(view, [entry('a', 1, 7), entry('a', 1, 6)]);
    expect(out.entries['a']!.version).toBe(7);
    // And an older entry after a newer one for a server the view did not know.
    expect(applyDelta(view, [entry('c', 0, 2), entry('c', 0, 1)]).entries['c']!.version).toBe(2);
  });
});

describe('viewDelta', () => {
  it('sends entries with a higher epoch or version, or a dead mark on the same version, and nothing else', () => {
    const mine = createView([entry('a', 1, 5), entry('b', 2, 0), entry('c', 0, 4, { alive: false }), entry('d', 3, 1)]);
    const known = versionVector(createView([entry('a', 1, 5), entry('b', 1, 9), entry('c', 0, 4), entry('d', 3, 2)]));
    expect(viewDelta(mine, known).map((e) => e.serverId)).toEqual(['b', 'c']);
  });
});
