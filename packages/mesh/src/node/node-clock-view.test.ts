import { describe, expect, it } from 'vitest';
import { createManualClock, createView } from '@epara/core';
import type { ServerEntry } from '@epara/core';
import { nodeClockView, nodeClockViewer } from './node-parts.js';

const entry = (serverId: string, updatedAt: number): ServerEntry => ({
  serverId,
  epoch: 1,
  version: 1,
  updatedAt,
  alive: true,
  instances: [],
  load: 0,
  freeMemoryBytes: 0,
  arrivalRates: {},
});

describe('nodeClockView', () => {
  const view = createView([entry('a', 900), entry('b', 400)]);

  it('is the same view when one clock drives both, or the two agree to the millisecond', () => {
    const one = createManualClock(1000);
    expect(nodeClockView(view, { clock: one, monotonicClock: one })).toBe(view);
    expect(nodeClockView(view, { clock: createManualClock(1000.5), monotonicClock: createManualClock(1000) })).toBe(view);
  });

  it('moves every entry onto the node clock keeping its age, after that clock stepped', () => {
    const monotonic = createManualClock(1000);
    for (const wall of [1000 + 3_600_000, 5]) { // a step forward, a step back
      const shifted = nodeClockView(view, { clock: createManualClock(wall), monotonicClock: monotonic });
      expect(wall - shifted.entries['a']!.updatedAt).toBe(100);
      expect(wall - shifted.entries['b']!.updatedAt).toBe(600);
      expect({ ...shifted.entries['a'], updatedAt: 900 }).toEqual(view.entries['a']);
    }
    expect(view.entries['a']!.updatedAt).toBe(900); // the sync's own view is left as it was
  });

  it('a viewer keeps the moved view while the source view and the whole-ms offset stay, and moves it again after', () => {
    const monotonic = createManualClock(1000);
    const wall = createManualClock(1002.3);
    const at = nodeClockViewer({ clock: wall, monotonicClock: monotonic });
    const first = at(view);
    expect(first.entries['a']!.updatedAt).toBe(902);
    wall.advance(0.1);
    monotonic.advance(0.1);
    expect(at(view)).toBe(first);
    // The sync's view changed (another object): moved afresh.
    const next = createView([entry('a', 950)]);
    expect(at(next).entries['a']!.updatedAt).toBe(952);
    // The clocks moved apart by a further millisecond: moved afresh.
    wall.advance(1);
    expect(at(next).entries['a']!.updatedAt).toBe(953);
    // Under a millisecond apart: the view itself; one clock for both: always the view itself.
    expect(nodeClockViewer({ clock: createManualClock(1000.5), monotonicClock: monotonic })(view)).toBe(view);
    expect(nodeClockViewer({ clock: monotonic, monotonicClock: monotonic })(view)).toBe(view);
  });
});
