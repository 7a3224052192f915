import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdfQueue } from './edf-queue.js';
import { edfCompare, type SchedulableItem } from './work-item.js';

const item = (seq: number, deadline: number, priority = 0): SchedulableItem => ({ seq, deadline, priority });

/** Queue operations as data: push a new item, remove the k-th queued, remove a batch, or drain. */
type Op = { kind: 'push'; deadline: number; priority: number } | { kind: 'remove' | 'removeHead' | 'removeSome'; k: number } | { kind: 'drain' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), deadline: fc.integer({ min: 0, max: 20 }), priority: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('remove' as const, 'removeHead' as const, 'removeSome' as const), k: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drain' as const) }) },
);

describe('EdfQueue', () => {
  it('holds exactly what a sorted reference holds, in EDF order, whatever is pushed and removed', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const q = new EdfQueue();
        let ref: SchedulableItem[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const it = item(seq++, o.deadline, o.priority);
            q.push(it);
            ref = [...ref, it].sort(edfCompare);
          } else if (o.kind === 'remove') {
            const victim = ref[o.k];
            const stranger = item(-1, 0);
            expect(q.remove(stranger)).toBe(false);
            if (victim !== undefined) {
              expect(q.remove(victim)).toBe(true);
              expect(q.remove(victim)).toBe(false);
              ref = ref.filter((x) => x !== victim);
            }
          } else if (o.kind === 'removeHead') {
            // The launched batch is the queue's head in order (the fast path).
            const head = ref.slice(0, o.k);
            q.removeAll(head);
            ref = ref.slice(head.length);
          } else if (o.kind === 'removeSome') {
            // Every other item from k on (not a prefix), as an array and, the second time, as a set.
            const some = ref.filter((_, i) => i >= o.k % 3 && i % 2 === 0);
            if (o.k % 2 === 0) q.removeAll(some);
            else q.removeAll(new Set(some));
            ref = ref.filter((x) => !some.includes(x));
          } else {
            expect(q.drain()).toEqual(ref);
            ref = [];
          }
          expect(q.items).toEqual(ref);
          expect(q.size).toBe(ref.length);
          expect(q.peek()).toBe(ref[0]);
        }
      }),
    );
  });

  it('orders by deadline, then higher priority, then submission', () => {
    const q = new EdfQueue();
    const late = item(0, 30);
    const low = item(1, 10, 0);
    const high = item(2, 10, 5);
    const lowLater = item(3, 10, 0);
    for (const x of [late, low, high, lowLater]) q.push(x);
    expect(q.items).toEqual([high, low, lowLater, late]);
    expect(q.peek()).toBe(high);
  });

  it('removes a prefix given out of order, items not queued, and nothing from an empty list', () => {
    const q = new EdfQueue();
    const xs = [item(0, 1), item(1, 2), item(2, 3), item(3, 4)];
    for (const x of xs) q.push(x);
    q.removeAll([]);
    expect(q.size).toBe(4);
    q.removeAll(new Set());
    expect(q.size).toBe(4);
    // The head two but listed in reverse: not the in-order prefix, still both removed.
    q.removeAll([xs[1]!, xs[0]!]);
    expect(q.items).toEqual([xs[2], xs[3]]);
    // A list longer than the queue whose start matches it: only what is queued goes.
    q.removeAll([xs[2]!, xs[3]!, item(9, 9)]);
    expect(q.size).toBe(0);
    expect(q.peek()).toBeUndefined();
    expect(q.drain()).toEqual([]);
  });
});
