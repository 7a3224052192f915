import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMaxHeap } from './max-heap.js';

/** Heap operations as data: push the next unused index with a key, pop, or lower the top's key by `drop`. */
type Op = { kind: 'push'; key: number } | { kind: 'pop' } | { kind: 'lower'; drop: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  // Keys from a small range: ties are common, and ties pop the lower index first.
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), key: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('lower' as const), drop: fc.integer({ min: 0, max: 4 }) }) },
);

/** The reference: the argmax of a plain list, lower index on equal keys. */
const best = (ref: Map<number, number>): number => {
  let top = -1;
  for (const [i, k] of ref) if (top < 0 || k > ref.get(top)! || (k === ref.get(top)! && i < top)) top = i;
  return top;
};

describe('createMaxHeap', () => {
  it('is empty at first: top is −1', () => {
    const h = createMaxHeap(4);
    expect(h.size).toBe(0);
    expect(h.top()).toBe(-1);
  });

  it('pops in key order, lower index first on equal keys', () => {
    const h = createMaxHeap(6);
    [2, 5, 5, 1, 5, 0].forEach((k, i) => h.push(i, k));
    const out: number[] = [];
    while (h.size > 0) out.push(h.pop());
    expect(out).toEqual([1, 2, 4, 0, 3, 5]);
    expect(h.top()).toBe(-1);
  });

  it('sinks a lowered top below every item it no longer beats', () => {
    const h = createMaxHeap(5);
    [9, 8, 7, 6, 5].forEach((k, i) => h.push(i, k));
    h.updateTop(5.5);
    expect(h.key(0)).toBe(5.5);
    const out: number[] = [];
    while (h.size > 0) out.push(h.pop());
    expect(out).toEqual([1, 2, 3, 0, 4]);
  });

  it('matches the reference argmax after any pushes, pops and lowered tops', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const h = createMaxHeap(ops.length);
        const ref = new Map<number, number>();
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            h.push(next, o.key);
            ref.set(next++, o.key);
          } else if (ref.size > 0 && o.kind === 'pop') {
            const want = best(ref);
            expect(h.pop()).toBe(want);
            ref.delete(want);
          } else if (ref.size > 0 && o.kind === 'lower') {
            const top = best(ref);
            ref.set(top, ref.get(top)! - o.drop);
            h.updateTop(ref.get(top)!);
          }
          expect(h.size).toBe(ref.size);
          expect(h.top()).toBe(best(ref));
          if (ref.size > 0) expect(h.key(h.top())).toBe(ref.get(best(ref)));
        }
      }),
    );
  });

  it('compares a sinking top with live children only, never with a popped item’s slot', () => {
    // Item 0 (key 9) is pushed and popped; items 1 and 2 fill two slots; the third slot still names item 0.
    const h = createMaxHeap(3);
    h.push(0, 9);
    expect(h.pop()).toBe(0);
    h.push(1, 7);
    h.push(2, 6);
    h.updateTop(7);
    expect(h.top()).toBe(1);
    expect([h.pop(), h.pop()]).toEqual([1, 2]);
    expect(h.size).toBe(0);
  });
});
