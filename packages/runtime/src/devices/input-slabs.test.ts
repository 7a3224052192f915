import { describe, expect, it } from 'vitest';
import { InputSlabPool, MIN_SLAB_BYTES } from './input-slabs.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What comes back from the worker: the same backing store, a new `ArrayBuffer` (as a transfer makes). */
const returned = (slab: ArrayBuffer): ArrayBuffer => structuredClone(slab, { transfer: [slab] });

describe('InputSlabPool', () => {
  it('gives a batch the smallest power-of-two slab from 64 KiB that holds it, the largest capped at slabBytes', () => {
    const pool = new InputSlabPool({ slabBytes: 8 * MiB, maxSlabs: 8 });
    expect(pool.sizeFor(1)).toBe(MIN_SLAB_BYTES);
    expect(pool.sizeFor(64 * KiB)).toBe(64 * KiB);
    expect(pool.sizeFor(64 * KiB + 1)).toBe(128 * KiB);
    expect(pool.sizeFor(1.6 * MiB)).toBe(2 * MiB);
    expect(pool.sizeFor(8 * MiB)).toBe(8 * MiB);
    expect(pool.acquire(110 * KiB)!.byteLength).toBe(128 * KiB);
    expect(pool.acquire(8 * MiB + 1)).toBeUndefined(); // larger than the largest slab: the copy path
    const odd = new InputSlabPool({ slabBytes: 3 * MiB, maxSlabs: 2 });
    expect(odd.sizeFor(2 * MiB + 1)).toBe(3 * MiB); // the largest size is slabBytes itself
    const tiny = new InputSlabPool({ slabBytes: 1000, maxSlabs: 2 });
    expect(tiny.acquire(10)!.byteLength).toBe(1000);
  });

  it('reuses an idle slab of the size, else the smallest idle larger one, and allocates nothing in steady state', () => {
    const pool = new InputSlabPool({ slabBytes: 8 * MiB, maxSlabs: 4 });
    const big = pool.acquire(1 * MiB)!;
    pool.release(returned(big));
    const small = pool.acquire(10 * KiB)!; // no idle 64 KiB slab: the idle 1 MiB one serves
    expect(small.byteLength).toBe(1 * MiB);
    pool.release(returned(small));
    for (let i = 0; i < 100; i++) {
      const a = pool.acquire(100 * KiB)!;
      const b = pool.acquire(1 * MiB)!; // the 1 MiB slab went to `a`: a second one is allocated once
      pool.release(returned(a));
      pool.release(returned(b));
    }
    expect(pool.stats()).toMatchObject({ allocated: 2, held: 2, free: 2, lent: 0, slabRuns: 202, copyRuns: 0 });
  });

  it('holds at most maxSlabs: at the limit the smallest idle slab makes room for a larger batch, and with none idle the batch is copied', () => {
    const pool = new InputSlabPool({ slabBytes: 8 * MiB, maxSlabs: 2 });
    const a = pool.acquire(10 * KiB)!;
    const b = pool.acquire(10 * KiB)!;
    expect(pool.acquire(10 * KiB)).toBeUndefined(); // both lent
    pool.release(returned(a));
    const c = pool.acquire(4 * MiB)!; // the idle 64 KiB slab is dropped for a 4 MiB one
    expect(c.byteLength).toBe(4 * MiB);
    expect(pool.stats()).toMatchObject({ allocated: 3, held: 2, lent: 2, free: 0, copyRuns: 1 });
    pool.release(returned(b));
    pool.release(returned(c));
    expect(pool.stats()).toMatchObject({ held: 2, lent: 0, free: 2 });
  });

  it('ignores buffers of no slab size and detached ones, and writes off slabs lost in a crashed worker', () => {
    const pool = new InputSlabPool({ slabBytes: 8 * MiB, maxSlabs: 2 });
    const a = pool.acquire(10 * KiB)!;
    pool.release(new ArrayBuffer(100 * KiB)); // not a power of two: foreign
    const detached = new ArrayBuffer(64 * KiB);
    structuredClone(detached, { transfer: [detached] });
    pool.release(detached);
    expect(pool.stats()).toMatchObject({ lent: 1, free: 0 });
    pool.lost(1);
    expect(pool.stats()).toMatchObject({ lent: 0, lost: 1, held: 0 });
    expect(pool.acquire(10 * KiB)).toBeDefined(); // replaced on demand
    expect(pool.stats()).toMatchObject({ allocated: 2, held: 1 });
    void a;
  });
});
