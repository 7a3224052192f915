import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import type { Lease } from '../batching/input-lease.js';
import type { WorkItem } from '../batching/work-item.js';
import { LeaseRing } from './lease-ring.js';

/*
 * A lease ring on its own: which slab a batch runs from, what moves out of its way, and that every item keeps
 * its values through moves and gathers (x f32[1, 3] per item, slabs of 4 slots).
 */

const ring = (maxSlabs = 4, fill = 4): LeaseRing =>
  new LeaseRing({ serviceId: 's', inputName: 'x', type: 'float32', itemDims: Object.freeze([1, 3]), ctor: Float32Array, capacity: 4, fill, tailBytes: 0, inPlace: true, maxSlabBytes: 1 << 20, maxSlabs, maxBytes: 0 });

function leased(r: LeaseRing, v: number, submit = true): Lease {
  const l = r.allocate();
  (l.data as Float32Array).set([v, v + 0.5, -v]);
  if (submit) l.claim('s', 'x');
  return l;
}

const work = (inputs: NamedTensors): WorkItem => ({ seq: 0, serviceId: 's', inputs, key: 'k', deadline: 0, priority: 0, enqueuedAt: 0, frame: false, settle: () => undefined });
const firstValues = (feeds: NamedTensors): number[] => Array.from(feeds['x']!.data as Float32Array).filter((_, i) => i % 3 === 0);

describe('LeaseRing', () => {
  it('runs the first slots of a slab in place and moves its other queued leases to a fresh slab, values intact', () => {
    const r = ring();
    const ls = [1, 2, 3, 4].map((v) => leased(r, v));
    const items = [work({ x: ls[1]! }), work({ x: ls[0]! })];
    const staged = r.stage('m', items, { x: 0 }, undefined)!;
    expect(staged.count).toBe(2);
    // Reordered to slot order: the outputs come back in this order.
    expect(items.map((it) => it.inputs['x'])).toEqual([ls[0], ls[1]]);
    expect(staged.feeds['x']!.dims).toEqual([2, 3]);
    expect(Array.from(staged.feeds['x']!.data as Float32Array)).toEqual([1, 1.5, -1, 2, 2.5, -2]);
    expect((staged.feeds['x']!.data as Float32Array).buffer).toBe(staged.slab);
    // Slots 2 and 3 were queued behind: moved out (one copy each) to slots 0 and 1 of another slab.
    expect(Array.from(ls[2]!.data as Float32Array)).toEqual([3, 3.5, -3]);
    expect(ls[2]!.slab).not.toBe(ls[0]!.slab);
    expect([ls[2]!.slot, ls[3]!.slot]).toEqual([0, 1]);
    expect(r.stats()).toMatchObject({ slabBatches: 1, inPlaceItems: 2, copiedItems: 0, movedLeases: 2, slabs: 2 });
    // New leases follow the moved ones in their slab; the lent slab takes none.
    const next = leased(r, 5);
    expect([next.slab, next.slot]).toEqual([ls[2]!.slab, 2]);
  });

  it('fills a slab with a usual batch of leases, and gathers a grown batch into the room left', () => {
    const r = ring(4, 2);
    const ls = [1, 2, 3, 4].map((v) => leased(r, v));
    expect(ls.map((l) => l.slot)).toEqual([0, 1, 0, 1]); // two per slab
    expect(ls[2]!.slab).not.toBe(ls[0]!.slab);
    // Each usual batch is one slab's leases: in place, nothing moved.
    expect(r.stage('m', [work({ x: ls[0]! }), work({ x: ls[1]! })], { x: 0 }, undefined)?.count).toBe(2);
    // A batch grown to three takes the next slab's pair in place and copies the fifth lease in.
    const fifth = leased(r, 5);
    const staged = r.stage('m', [work({ x: ls[2]! }), work({ x: ls[3]! }), work({ x: fifth })], { x: 0 }, undefined)!;
    expect(firstValues(staged.feeds)).toEqual([3, 4, 5]);
    expect(r.stats()).toMatchObject({ slabBatches: 2, inPlaceItems: 4, copiedItems: 1, movedLeases: 0 });
  });

  it('runs a batch from the slab that holds most of its leases, not its first item\'s', () => {
    const r = ring();
    const a = [1, 2, 3, 4].map((v) => leased(r, v)); // the first slab
    const b = [5, 6, 7, 8].map((v) => leased(r, v)); // the second
    for (const l of a.slice(0, 3)) l.settled(); // an earlier batch took the first slab's first three
    // The tail of one slab and the head of the next, as after a partial launch: from the first item's slab it
    // would copy three items in; from the second it finds three in place, copies one in and moves one out.
    const items = [work({ x: a[3]! }), work({ x: b[0]! }), work({ x: b[1]! }), work({ x: b[2]! })];
    const staged = r.stage('m', items, { x: 0 }, undefined)!;
    expect(staged.slab).toBe(b[0]!.slab!.buffer);
    expect(firstValues(staged.feeds)).toEqual(items.map((it) => (it.inputs['x']!.data as Float32Array)[0]));
    expect(firstValues(staged.feeds).sort()).toEqual([4, 5, 6, 7]);
    expect(Array.from(b[3]!.data as Float32Array)).toEqual([8, 8.5, -8]); // moved, values intact
    expect(r.stats()).toMatchObject({ slabBatches: 1, inPlaceItems: 3, copiedItems: 1, movedLeases: 1 });
  });

  it('leaves a batch to the copy path when the leases to move outnumber its items in place', () => {
    const r = ring();
    const ls = [1, 2, 3, 4].map((v) => leased(r, v));
    // One item in place (slot 0), three queued leases in the way: four copies against the copy path's one.
    expect(r.stage('m', [work({ x: ls[0]! })], { x: 0 }, undefined)).toBeUndefined();
    expect(ls.map((l) => l.slot)).toEqual([0, 1, 2, 3]); // nothing moved
    expect(r.stats()).toMatchObject({ slabBatches: 0, movedLeases: 0 });
  });

  it('gathers items from later slots, other slabs and plain tensors into the first slots', () => {
    const r = ring();
    const a = [1, 2, 3, 4].map((v) => leased(r, v)); // fills the first slab
    const b = leased(r, 5); // slot 0 of a second slab
    a[0]!.settled(); // slot 0 of the first slab is free again
    a[1]!.settled();
    const plain = { type: 'float32' as const, dims: [1, 3], data: new Float32Array([6, 6.5, -6]) };
    const items = [work({ x: a[3]! }), work({ x: b }), work({ x: plain }), work({ x: a[2]! })];
    const staged = r.stage('m', items, { x: 0 }, undefined)!;
    expect(firstValues(staged.feeds)).toEqual(items.map((it) => (it.inputs['x']!.data as Float32Array)[0]));
    expect(firstValues(staged.feeds).sort()).toEqual([3, 4, 5, 6]);
    // Slots 2 and 3 are among the batch's four: in place; the other slab's lease and the plain tensor are copied.
    expect(r.stats()).toMatchObject({ inPlaceItems: 2, copiedItems: 2, movedLeases: 0 });
  });

  it('refuses a batch while a lease of its slab is still being written, or when there is no slab to move leases to', () => {
    const r = ring(1);
    const [a, b] = [leased(r, 1), leased(r, 2)];
    const open = leased(r, 3, false);
    expect(r.stage('m', [work({ x: a })], { x: 0 }, undefined)).toBeUndefined();
    open.claim('s', 'x');
    // Now slot 2 would have to move out of the pair's way, but the ring may hold one slab only.
    expect(r.stage('m', [work({ x: a }), work({ x: b })], { x: 0 }, undefined)).toBeUndefined();
    // A batch of every queued lease needs no move.
    const items = [work({ x: open }), work({ x: a }), work({ x: b })];
    expect(r.stage('m', items, { x: 0 }, undefined)?.count).toBe(3);
    // That slab is lent: the next lease gets a buffer of its own.
    expect(leased(r, 9).inSlab).toBe(false);
    expect(r.stats()).toMatchObject({ leases: 4, fellBack: 1, slabs: 1 });
  });

  it('hands the last slot of the open slab again when its lease is refused at once, so refusals cost no slab', () => {
    // Under overload most requests are refused at admission: allocated, submitted, released at once. Two of three
    // are refused here; eight kept (queued) leases fit the two slabs of four.
    const r = ring(2);
    const kept: Lease[] = [];
    for (let i = 0; i < 8; i++) {
      for (let k = 0; k < 2; k++) leased(r, 100 + k).settled(true);
      kept.push(leased(r, i));
    }
    expect(kept.every((l) => l.inSlab)).toBe(true);
    expect(kept.map((l) => l.slot)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(r.stats()).toMatchObject({ leases: 24, fellBack: 0, slabs: 2 });
    // Each kept lease kept its values (a refused one wrote its own into the slot after it, then gave it back).
    expect(kept.map((l) => (l.data as Float32Array)[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('hands no slot of a lease that was queued again before its slab empties', () => {
    // A queued lease of the open slab that ran in another slab's batch (copied there) settles: its slot stays
    // taken, so the next lease does not land between the queued ones the next batch would run in place.
    const r = ring(2);
    const a = [leased(r, 1), leased(r, 2)];
    a[1]!.settled();
    expect(leased(r, 3).slot).toBe(2);
  });

  it('hands no slot again once its slab stopped taking leases', () => {
    const r = ring(2);
    const a = [1, 2, 3, 4].map((v) => leased(r, v)); // fills the first slab
    leased(r, 5); // the second slab takes leases now
    a[3]!.settled(true);
    expect(leased(r, 6).slot).toBe(1); // from the second slab; the first one's freed slot waits for the others
  });

  it('takes a slab back for new leases once the worker returned it and its leases were released', () => {
    const r = ring(1);
    const ls = [leased(r, 1), leased(r, 2)];
    const staged = r.stage('m', ls.map((l) => work({ x: l })), { x: 0 }, undefined)!;
    const back = structuredClone(staged.slab, { transfer: [staged.slab] }); // what the worker hands back
    staged.home.returned(back);
    expect(leased(r, 3).inSlab).toBe(false); // its leases are still live
    for (const l of ls) l.settled();
    const again = leased(r, 4);
    expect([again.inSlab, again.slot, (again.data as Float32Array).buffer]).toEqual([true, 0, back]);
  });
});
