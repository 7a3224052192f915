import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { claimLeases, Lease, LeaseSlab, releaseOpenLeases, settleLeases, type LeaseSlabOwner } from './input-lease.js';

/*
 * One lease slab and its leases on their own, with the owner (a ring) recorded: which slots are handed again, and
 * when the slab tells its owner it is empty.
 */

function slabOf(capacity: number, takes = true): { slab: LeaseSlab; emptied: LeaseSlab[] } {
  const emptied: LeaseSlab[] = [];
  const owner: LeaseSlabOwner = { emptied: (s) => void emptied.push(s), takesLeases: () => takes };
  return { slab: new LeaseSlab(new ArrayBuffer(capacity * 12), capacity, owner), emptied };
}

/** Hands out the slab's next slot as a ring does. */
function lease(slab: LeaseSlab): Lease {
  const slot = slab.next++;
  const l = new Lease({ serviceId: 's', inputName: 'x', type: 'float32', dims: [1, 3], view: new Float32Array(slab.buffer, slot * 12, 3), slab, slot, ring: undefined });
  slab.leases[slot] = l;
  slab.live++;
  return l;
}

describe('LeaseSlab', () => {
  it('hands the last slots again when their leases are released unused, back past every released slot before them', () => {
    const { slab, emptied } = slabOf(4);
    const [a, b, c] = [lease(slab), lease(slab), lease(slab)];
    b.claim('s', 'x');
    b.settled(); // a queued lease: its slot stays handed out
    expect(slab.next).toBe(3);
    c.release(); // unused and the last handed out: slots 1 and 2 are free again
    expect(slab.next).toBe(1);
    expect(c.state).toBe('released');
    expect(emptied).toEqual([]);
    a.release();
    expect(slab.next).toBe(0);
    expect(slab.live).toBe(0);
    expect(emptied).toEqual([slab]);
  });

  it('keeps a queued lease’s slot, and every slot once the slab no longer takes leases', () => {
    const { slab } = slabOf(4);
    const [, b] = [lease(slab), lease(slab)];
    b.claim('s', 'x');
    b.settled(); // the request settled: not unused
    expect(slab.next).toBe(2);
    const sealed = slabOf(4, false).slab;
    const [, y] = [lease(sealed), lease(sealed)];
    y.release();
    expect(sealed.next).toBe(2);
    expect(sealed.live).toBe(1);
  });

  it('an unused lease not the last handed out, and a lease moved to another slab, leave the next slot where it is', () => {
    const { slab } = slabOf(4);
    const [a] = [lease(slab), lease(slab)];
    a.release();
    expect(slab.next).toBe(2);
    const from = slabOf(4).slab;
    const [, moved] = [lease(from), lease(from)];
    const to = slabOf(4).slab;
    moved.relocate(to, 0, new Float32Array(to.buffer, 0, 3));
    expect(from.next).toBe(2); // a moved lease was queued: its old slot stays handed out until the slab empties
    expect(from.live).toBe(1);
    expect([moved.slab, moved.slot, to.live]).toEqual([to, 0, 1]);
  });

  it('tells its owner it is empty when lent and returned, or lost, with no live lease; not while one is live', () => {
    const { slab, emptied } = slabOf(2);
    const a = lease(slab);
    slab.lent = true;
    a.release(); // lent: not yet empty for the owner
    expect(emptied).toEqual([]);
    const back = new ArrayBuffer(24);
    slab.returned(back);
    expect(slab.buffer).toBe(back);
    expect(slab.lent).toBe(false);
    expect(emptied).toEqual([slab]);

    const other = slabOf(2);
    const b = lease(other.slab);
    other.slab.lent = true;
    other.slab.lost();
    expect(other.slab.dead).toBe(true);
    expect(other.slab.lent).toBe(false);
    expect(other.emptied).toEqual([]); // b is live
    const gone = slabOf(2);
    gone.slab.lent = true;
    gone.slab.lost();
    expect(gone.emptied).toEqual([gone.slab]);
    b.release();
    expect(other.emptied).toEqual([other.slab]);
  });
});

describe('Lease', () => {
  it('release() gives back an open lease once, and leaves a submitted one to its request', () => {
    const { slab } = slabOf(2);
    const a = lease(slab);
    a.release();
    a.release();
    expect(a.state).toBe('released');
    expect(a.inSlab).toBe(false);
    expect(slab.live).toBe(0);
    let error: unknown;
    try {
      void a.data;
    } catch (err) {
      error = err;
    }
    expect(isEparaError(error) && error.code === 'INVALID_INPUT' && error.details?.['reason']).toBe('lease-released');
    const b = lease(slab);
    b.claim('s', 'x');
    b.release();
    expect(b.state).toBe('submitted');
    expect(slab.live).toBe(1);
  });

  it('is claimed once, for its own service and input: anything else is INVALID_INPUT with the reason', () => {
    const reasonOf = (f: () => void): unknown => {
      try {
        f();
      } catch (err) {
        return isEparaError(err) && err.code === 'INVALID_INPUT' ? [err.details?.['reason'], err.message] : err;
      }
      return 'no error';
    };
    const { slab } = slabOf(4);
    const a = lease(slab);
    expect(reasonOf(() => a.claim('other', 'x'))).toEqual(['lease-mismatch', "s: input 'x': the lease was made for input 'x' of s, given as 'x' of other"]);
    expect(reasonOf(() => a.claim('s', 'y'))).toEqual(['lease-mismatch', "s: input 'x': the lease was made for input 'x' of s, given as 'y' of s"]);
    expect(a.state).toBe('open');
    a.claim('s', 'x');
    expect(reasonOf(() => a.claim('s', 'x'))).toEqual(['lease-submitted', "s: input 'x': the lease was already submitted (a lease carries one request)"]);
    const b = lease(slab);
    b.release();
    const released = "s: input 'x': the lease was released (its request settled, or release() was called)";
    expect(reasonOf(() => b.claim('s', 'x'))).toEqual(['lease-released', released]);
    expect(reasonOf(() => b.data)).toEqual(['lease-released', released]);
  });

  it('settles once: a second settle releases nothing more', () => {
    const { slab } = slabOf(4);
    const [a] = [lease(slab), lease(slab)];
    a.claim('s', 'x');
    a.settled();
    a.settled(true);
    expect(slab.live).toBe(1);
    expect(slab.next).toBe(2);
  });

  it('moved within its own slab, stays live there: the slab is not emptied', () => {
    const { slab, emptied } = slabOf(4);
    const a = lease(slab);
    a.relocate(slab, 2, new Float32Array(slab.buffer, 24, 3));
    expect([slab.live, slab.leases[0], slab.leases[2], a.slot]).toEqual([1, undefined, a, 2]);
    expect(emptied).toEqual([]);
  });
});

describe('claimLeases, settleLeases, releaseOpenLeases', () => {
  const tensor = { type: 'float32' as const, dims: [1], data: new Float32Array(1) };

  it('claims every lease among the inputs under the name it is given as, and says whether there was one', () => {
    const { slab } = slabOf(4);
    const x = lease(slab);
    expect(claimLeases({ y: tensor }, 's')).toBe(false);
    expect(claimLeases({ y: tensor, x }, 's')).toBe(true);
    expect(x.state).toBe('submitted');
  });

  it('a claim that fails releases the leases claimed before it (that request never existed), and throws', () => {
    const { slab } = slabOf(4);
    const other = lease(slab); // made for input x, given as z
    const x = lease(slab);
    expect(() => claimLeases({ x, z: other }, 's')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(x.state).toBe('released');
    expect(other.state).toBe('open');
    expect(slab.next).toBe(1); // x was never queued: released as refused, its slot (the last handed out) is free again
  });

  it('settles the submitted leases only (refused: their slots may be handed again), and releases the open ones of a failed submit', () => {
    const { slab } = slabOf(4);
    const [a, b] = [lease(slab), lease(slab)];
    b.claim('s', 'x');
    settleLeases({ x: b, y: a, t: tensor }, true);
    expect([a.state, b.state]).toEqual(['open', 'released']);
    expect(slab.next).toBe(1); // b, refused and the last handed out, gives its slot back; a's stays out
    releaseOpenLeases({ y: a, t: tensor });
    expect(a.state).toBe('released');
    expect(slab.next).toBe(0);
    releaseOpenLeases(null as unknown as Record<string, never>);
  });

  it('settles a request’s leases as queued by default: their slots stay handed out until the slab empties', () => {
    const { slab } = slabOf(4);
    const [, b] = [lease(slab), lease(slab)];
    b.claim('s', 'x');
    settleLeases({ x: b });
    expect(b.state).toBe('released');
    expect(slab.next).toBe(2);
  });
});
