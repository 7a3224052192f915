import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, isEparaError, type NamedTensors } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, type Executor, type InputLease } from '@epara/runtime';
import { codeOf, doubler, flat, item, values } from './helpers.js';

/*
 * Write-once inputs: `executor.allocateInput` lends a slot of a lease slab, the host writes the item there and
 * submits the lease; a batch of such leases runs from that slab (no copy, no device slab). Checked on the fake
 * backend (`y = 2x + 1` over x f32[batch, 2]) against plain submits, and every misuse is a typed error.
 */

const latency = { sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 1000 } };

async function open(batch = 4): Promise<Executor> {
  const ex = createExecutor({
    backend: { kind: 'fake' },
    clock: createManualClock(0),
    timers: createManualTimers(),
    batchWait: 'until-deadline',
    devices: [{ id: 'd0' }],
    services: [
      { id: 's', model: doubler(), ...latency, profile: flat(10), plan: { batchSize: batch }, maxBatch: batch, devices: ['d0'] },
      { id: 'other', model: doubler(), ...latency, profile: flat(10), devices: ['d0'] },
    ],
  });
  await ex.start();
  return ex;
}

function lease(ex: Executor, a: number, b = 0): InputLease<Float32Array> {
  const l = ex.allocateInput<Float32Array>('s', 'x', [1, 2]);
  l.data[0] = a;
  l.data[1] = b;
  return l;
}

/**
 * The public type of a lease shows what a host uses and nothing of the executor's own (its slab, slot and ring, the
 * request's claim): `pnpm typecheck` fails if one of these becomes reachable. Never called.
 */
function leaseTypeShowsNoInternals(l: InputLease): void {
  // @ts-expect-error the lease's slab is the executor's
  void l.slab;
  // @ts-expect-error the lease's slot is the executor's
  void l.slot;
  // @ts-expect-error the lease's ring is the executor's
  void l.ring;
  // @ts-expect-error a request claims a lease inside `submit`, not the host
  l.claim('s', 'x');
  // @ts-expect-error a settled request releases its leases, not the host
  l.settled();
  // @ts-expect-error the executor moves leases between slabs, not the host
  l.relocate(undefined, 0, l.data);
  l.release(); // what a host may call
}
void leaseTypeShowsNoInternals;

async function reason(p: Promise<unknown> | (() => unknown)): Promise<string> {
  const err: unknown = typeof p === 'function' ? (() => { try { p(); return undefined; } catch (e) { return e; } })() : await p.then(() => undefined, (e: unknown) => e);
  if (!isEparaError(err)) throw new Error(`expected an EparaError, got ${String(err)}`);
  return `${err.code} ${String((err.details as { reason?: string }).reason ?? '')}`.trim();
}

describe('executor.allocateInput (write-once inputs)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('runs a batch of leases from their slab, with the outputs of plain inputs, and reuses the slab', async () => {
    ex = await open();
    for (let round = 0; round < 3; round++) {
      const leases = [1, 2, 3, 4].map((a) => lease(ex!, a + 10 * round, -a));
      expect(leases.every((l) => l.inSlab && l.state === 'open')).toBe(true);
      const outs = await Promise.all(leases.map((l) => ex!.submit('s', { x: l })));
      outs.forEach((o, i) => expect(values(o)).toEqual([2 * (i + 1 + 10 * round) + 1, -2 * (i + 1) + 1]));
      // Released when they settled: their memory may hold the next requests' inputs now.
      expect(leases.map((l) => l.state)).toEqual(['released', 'released', 'released', 'released']);
      expect(await reason(() => leases[0]!.data)).toBe('INVALID_INPUT lease-released');
    }
    const s = ex.stats();
    expect(s.services['s']!.inputLeases!['x']).toEqual({ leases: 12, fellBack: 0, slabBatches: 3, inPlaceItems: 12, copiedItems: 0, movedLeases: 0, slabs: 1 });
    // The device's own slabs were never needed.
    expect(s.devices['d0']!.inputSlabs).toMatchObject({ slabRuns: 0, copyRuns: 0 });
  });

  it('gathers a batch in deadline order whose items lie out of slot order or are plain tensors, and answers each its own', async () => {
    ex = await open();
    const a = lease(ex, 1);
    const b = lease(ex, 2);
    const d = lease(ex, 4);
    // EDF puts b, c, a, d in the batch; c is a plain tensor, copied into the slab's last slot.
    const ps = [ex.submit('s', { x: a }, { deadline: 900 }), ex.submit('s', { x: b }, { deadline: 800 }), ex.submit('s', item(3), { deadline: 850 }), ex.submit('s', { x: d }, { deadline: 950 })];
    expect((await Promise.all(ps)).map((o) => values(o)[0])).toEqual([3, 5, 7, 9]);
    expect(ex.stats().services['s']!.inputLeases!['x']).toMatchObject({ slabBatches: 1, inPlaceItems: 3, copiedItems: 1 });
  });

  it('takes the copy path while a lease of the slab is still being written, and serves it later', async () => {
    await ex?.close();
    ex = createExecutor({
      backend: { kind: 'fake' },
      launchWhenIdle: true, // every request launches at once, alone
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), ...latency, profile: flat(10), plan: { batchSize: 4 }, maxBatch: 4, devices: ['d0'] }],
    });
    await ex.start();
    const [a, late] = [lease(ex, 1), lease(ex, 2)];
    // a runs while `late` (slot 1 of the same slab) is not submitted yet: the slab cannot be lent.
    expect(values(await ex.submit('s', { x: a }))[0]).toBe(3);
    expect(late.state).toBe('open');
    late.data[0] = 30; // still the host's to write
    expect(values(await ex.submit('s', { x: late }))[0]).toBe(61);
    // a went through the device's slab; late ran from the lease slab, moved down from slot 1 to slot 0.
    expect(ex.stats().devices['d0']!.inputSlabs!.slabRuns).toBe(1);
    expect(ex.stats().services['s']!.inputLeases!['x']).toMatchObject({ slabBatches: 1, inPlaceItems: 0, copiedItems: 1 });
  });

  it('refuses misuse with typed errors and releases what a failed submit was given', async () => {
    ex = await open();
    expect(await reason(() => ex!.allocateInput('s', 'y', [1, 2]))).toBe('INVALID_INPUT');
    expect(await reason(() => ex!.allocateInput('s', 'x', [2, 2]))).toBe('INVALID_INPUT');
    expect(await reason(() => ex!.allocateInput('s', 'x', [1, 2, 1]))).toBe('INVALID_INPUT');
    expect(await reason(() => ex!.allocateInput('nope', 'x', [1, 2]))).toBe('UNKNOWN_SERVICE');
    // Submitted twice: the second submit fails, the first request keeps the lease and is served.
    const [x, y, z] = [lease(ex, 1), lease(ex, 2), lease(ex, 3)];
    const first = ex.submit('s', { x });
    expect(await reason(ex.submit('s', { x }))).toBe('INVALID_INPUT lease-submitted');
    expect(x.state).toBe('submitted');
    // Given to another service: refused, and released (a lease passed to a failed submit goes back).
    expect(await reason(ex.submit('other', { x: y }))).toBe('INVALID_INPUT lease-mismatch');
    expect(y.state).toBe('released');
    // Released by the host: no longer submittable.
    z.release();
    z.release(); // idempotent
    expect(await reason(ex.submit('s', { x: z }))).toBe('INVALID_INPUT lease-released');
    // A refused submit (a bad option) releases the lease it was given.
    const w = lease(ex, 4);
    expect(await codeOf(ex.submit('s', { x: w }, { priority: Number.NaN }))).toBe('INVALID_OPTIONS');
    expect(w.state).toBe('released');
    const rest = [lease(ex, 5), lease(ex, 6), lease(ex, 7)].map((l) => ex!.submit('s', { x: l }));
    expect(values(await first)[0]).toBe(3);
    await Promise.all(rest);
  });

  it('releases a lease whose queued request is aborted', async () => {
    ex = await open();
    const l = lease(ex, 1);
    const ac = new AbortController();
    const p = ex.submit('s', { x: l }, { signal: ac.signal });
    ac.abort();
    expect(await codeOf(p)).toBe('ABORTED');
    expect(l.state).toBe('released');
    const outs: NamedTensors[] = await Promise.all([1, 2, 3, 4].map((a) => ex!.submit('s', { x: lease(ex!, a) })));
    expect(outs.map((o) => values(o)[0])).toEqual([3, 5, 7, 9]);
  });

  it('falls back to a buffer of its own when inputs slabs are off', async () => {
    const off = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0', inputSlabBytes: 0 }],
      launchWhenIdle: true,
      services: [{ id: 's', model: doubler(), ...latency, profile: flat(10), devices: ['d0'] }],
    });
    try {
      await off.start();
      const l = off.allocateInput<Float32Array>('s', 'x', [1, 2]);
      expect(l.inSlab).toBe(false);
      l.data.set([5, 0]);
      expect(values(await off.submit('s', { x: l }))).toEqual([11, 1]);
      expect(off.stats().services['s']!.inputLeases!['x']).toMatchObject({ leases: 1, fellBack: 1, slabBatches: 0 });
    } finally {
      await off.close();
    }
  });
});
