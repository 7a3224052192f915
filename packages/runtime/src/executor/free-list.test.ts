import { describe, expect, it } from 'vitest';
import { FreeList } from './free-list.js';

describe('FreeList', () => {
  it('hands records back last in, first out, keeps at most its bound, and forgets on clear', () => {
    const list = new FreeList<{ n: number }>(2);
    expect(list.take()).toBeUndefined();
    const [a, b, c] = [{ n: 1 }, { n: 2 }, { n: 3 }];
    expect(list.put(a)).toBe(true);
    expect(list.put(b)).toBe(true);
    expect(list.put(c)).toBe(false); // full: not kept
    expect(list.size).toBe(2);
    expect(list.take()).toBe(b);
    expect(list.take()).toBe(a);
    expect(list.take()).toBeUndefined();
    expect(list.size).toBe(0);
    list.put(c);
    list.clear();
    expect(list.size).toBe(0);
    expect(list.take()).toBeUndefined();
  });

  it('fills and empties many times over without losing or doubling a record', () => {
    const list = new FreeList<number>(Number.POSITIVE_INFINITY);
    for (let round = 0; round < 50; round++) {
      const n = 1 + (round % 5);
      for (let i = 0; i < n; i++) list.put(round * 10 + i);
      const out: number[] = [];
      for (let x = list.take(); x !== undefined; x = list.take()) out.push(x);
      expect(out).toEqual(Array.from({ length: n }, (_, i) => round * 10 + n - 1 - i));
    }
  });
});
