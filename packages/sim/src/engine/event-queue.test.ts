import { createManualClock, createSeededRandom } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { createEventQueue } from './event-queue.js';
import { runEvents } from './run-events.js';

describe('createEventQueue', () => {
  it('pops events in time order, equal times first-in first-out', () => {
    const q = createEventQueue(2);
    const rnd = createSeededRandom(7);
    const pushed: Array<[number, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const t = Math.floor(rnd.next() * 100);
      q.push(t, 1, i);
      pushed.push([t, i]);
    }
    pushed.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const popped: Array<[number, number]> = [];
    while (q.pop()) popped.push([q.time, q.a]);
    expect(popped).toEqual(pushed);
    expect(q.size).toBe(0);
    expect(q.peekTime()).toBe(Infinity);
  });

  it('keeps (time, insertion) order when pushes and pops interleave (the steady state of a run)', () => {
    const q = createEventQueue(4);
    const rnd = createSeededRandom(11);
    const pending: Array<[number, number]> = [];
    let seq = 0;
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      if (pending.length === 0 || rnd.next() < 0.5) {
        const t = now + Math.floor(rnd.next() * 20);
        q.push(t, 1, seq);
        pending.push([t, seq++]);
      } else {
        pending.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        const [t, id] = pending.shift()!;
        expect(q.pop()).toBe(true);
        expect([q.time, q.a]).toEqual([t, id]);
        now = t;
      }
    }
    expect(q.size).toBe(pending.length);
  });

  it('keeps the ref object of each event and reuses slots after pops', () => {
    const q = createEventQueue(16);
    const refs = Array.from({ length: 100 }, (_, i) => ({ i }));
    for (let round = 0; round < 3; round++) {
      for (const r of refs) q.push(round * 1000 + r.i, 2, r.i, r);
      for (const r of refs) {
        expect(q.pop()).toBe(true);
        expect(q.ref).toBe(r);
      }
    }
  });

  it('drives the core ManualClock through runEvents, stopping at untilMs', () => {
    const q = createEventQueue();
    const clock = createManualClock();
    const seen: number[] = [];
    const handler = {
      handle(kind: number, a: number): void {
        seen.push(clock.now());
        if (kind === 1 && a < 10) q.push(clock.now() + 10, 1, a + 1);
      },
    };
    q.push(5, 1, 0);
    const n = runEvents({ queue: q, clock, handler, untilMs: 50 });
    expect(seen).toEqual([5, 15, 25, 35, 45]);
    expect(n).toBe(5);
    expect(clock.now()).toBe(50);
    expect(q.size).toBe(1);
  });
});
