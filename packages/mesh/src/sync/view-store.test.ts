import { describe, expect, it } from 'vitest';
import { INCARNATION_STEP, ViewStore } from './view-store.js';
import type { WireEntry } from './sync-types.js';

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {}, ...o });

describe('ViewStore', () => {
  it('turns ages into local times, so a peer clock far off never matters', () => {
    const s = new ViewStore('a', 1, 1_000, state);
    expect(s.applyEntry(wire({ ageMs: 300 }), 5_000)).toBe('updated');
    expect(s.get('b')!.updatedAt).toBe(4_700);
    // Same version, fresher confirmation: only the age moves.
    expect(s.applyStub({ serverId: 'b', epoch: 1, version: 1, ageMs: 10, alive: true }, 6_000)).toBe('refreshed');
    expect(s.get('b')!.updatedAt).toBe(5_990);
  });

  it('higher (epoch, version) wins; a newer stub without content asks for a full token', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ version: 5, load: 0.5 }), 0);
    expect(s.applyEntry(wire({ version: 4, load: 0.9 }), 0)).toBe('ignored');
    expect(s.get('b')!.load).toBe(0.5);
    expect(s.applyStub({ serverId: 'b', epoch: 1, version: 6, ageMs: 0, alive: true }, 0)).toBe('missing');
    expect(s.applyEntry(wire({ epoch: 2, version: 1 }), 0)).toBe('updated');
  });

  it('a dead mark keeps the version; the server itself outbids it when the mark comes back around', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({}), 0);
    expect(s.markDead('b', 0)).toBe(true);
    expect(s.aliveIds()).toEqual(['a']);
    const me = s.self;
    expect(s.applyStub({ serverId: 'a', epoch: me.epoch, version: me.version, ageMs: 0, alive: false }, 1)).toBe('updated');
    expect(s.self.alive).toBe(true);
    // Outbid under its next incarnation: within one, a dead mark beats every version.
    expect(s.self).toMatchObject({ epoch: me.epoch, version: INCARNATION_STEP });
    // The own entry only changes version when its content changes.
    expect(s.writeSelf(state, 2)).toBe(false);
    expect(s.writeSelf({ ...state, load: 0.3 }, 3)).toBe(true);
  });
});
