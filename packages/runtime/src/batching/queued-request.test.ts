import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EparaError, isEparaError, type AbortSignalLike, type NamedTensors, type TraceContext } from '@epara/core';
import { Lease, LeaseSlab } from './input-lease.js';
import type { ItemDone, StreamSlot, WorkItem } from './work-item.js';
import { QueuedRequest, type QueuedRequestHost, type QueuedRequestInit } from './queued-request.js';

/*
 * One queued request on its own, with its host recorded: it settles exactly once (the first of a completion, a
 * rejection and an abort), reports each outcome to the host, and gives its leases back when it settles.
 */

interface Recorded {
  host: QueuedRequestHost;
  completed: { item: WorkItem; outcome: string; done: ItemDone | undefined; trace: TraceContext | undefined }[];
  withdrawn: WorkItem[];
}

function recorder(): Recorded {
  const r: Recorded = {
    completed: [],
    withdrawn: [],
    host: {
      serviceId: 'svc',
      withdraw: (item) => (r.withdrawn.push(item), true),
      completed: (item, outcome, done, trace) => void r.completed.push({ item, outcome, done, trace }),
    },
  };
  return r;
}

const init = (o: Partial<QueuedRequestInit> = {}): QueuedRequestInit => ({
  seq: 7,
  inputs: {},
  key: 'k',
  costScale: 1.5,
  deadline: 100,
  priority: 2,
  enqueuedAt: 10,
  frame: false,
  slot: undefined,
  signal: undefined,
  trace: undefined,
  leased: false,
  ...o,
});

const outputs: NamedTensors = { y: { type: 'float32', dims: [1], data: new Float32Array([1]) } };
const done: ItemDone = { startedAt: 20, finishedAt: 23, batchSize: 1, deviceId: 'd0' };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** A lease in a slab of its own, claimed as input `x` of `svc`. */
function claimedLease(): { lease: Lease; slab: LeaseSlab } {
  const slab = new LeaseSlab(new ArrayBuffer(12), 1, { emptied: () => undefined, takesLeases: () => true });
  const lease = new Lease({ serviceId: 'svc', inputName: 'x', type: 'float32', dims: [1, 3], view: new Float32Array(slab.buffer, 0, 3), slab, slot: 0, ring: undefined });
  slab.leases[0] = lease;
  slab.next = 1;
  slab.live = 1;
  lease.claim('svc', 'x');
  return { lease, slab };
}

describe('QueuedRequest', () => {
  it('carries what it was queued with, the host’s service, and whether it is a frame', () => {
    const r = recorder();
    const q = new QueuedRequest(init(), r.host);
    expect([q.seq, q.key, q.costScale, q.deadline, q.priority, q.enqueuedAt, q.serviceId, q.frame, q.slot]).toEqual([7, 'k', 1.5, 100, 2, 10, 'svc', false, undefined]);
    const slot = {} as StreamSlot;
    const frame = new QueuedRequest(init({ frame: true, slot }), r.host);
    expect(frame.frame).toBe(true);
    expect(frame.slot).toBe(slot);
  });

  it('resolves once with its outputs and reports ok, with the done figures and its trace; later outcomes are ignored', async () => {
    const r = recorder();
    const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } as TraceContext;
    const q = new QueuedRequest(init({ trace }), r.host);
    q.settle(undefined, outputs, done);
    q.settle(new EparaError('DEADLINE_EXCEEDED', 'late'));
    await expect(q.promise).resolves.toBe(outputs);
    expect(r.completed).toEqual([{ item: q, outcome: 'ok', done, trace }]);
  });

  it('rejects with the error it is settled with and reports its code', async () => {
    const r = recorder();
    const q = new QueuedRequest(init(), r.host);
    const err = new EparaError('DEADLINE_EXCEEDED', 'late');
    q.settle(err);
    q.settle(undefined, outputs, done);
    expect(await rejection(q.promise)).toBe(err);
    expect(r.completed.map((c) => c.outcome)).toEqual(['DEADLINE_EXCEEDED']);
  });

  it('on abort leaves its queue, reports ABORTED and rejects; a settle after that changes nothing', async () => {
    const r = recorder();
    const ac = new AbortController();
    const q = new QueuedRequest(init({ signal: ac.signal }), r.host);
    ac.abort();
    q.settle(undefined, outputs, done);
    const err = await rejection(q.promise);
    expect(isEparaError(err) && err.code).toBe('ABORTED');
    expect(isEparaError(err) && err.details).toEqual({ serviceId: 'svc' });
    expect(r.withdrawn).toEqual([q]);
    expect(r.completed.map((c) => c.outcome)).toEqual(['ABORTED']);
  });

  it('leaves no listener on its signal once aborted (a queued request withdrawn is never settled after)', () => {
    const ac = new AbortController();
    const q = new QueuedRequest(init({ signal: ac.signal }), recorder().host);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    void q.promise.catch(() => undefined);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('stops listening to its signal once settled (the listener is removed, not left to the signal)', async () => {
    const r = recorder();
    const listeners = new Set<() => void>();
    const signal: AbortSignalLike = {
      aborted: false,
      addEventListener: (_type, listener) => void listeners.add(listener),
      removeEventListener: (_type, listener) => void listeners.delete(listener),
    };
    const q = new QueuedRequest(init({ signal }), r.host);
    expect(listeners.size).toBe(1);
    q.settle(undefined, outputs, done);
    expect(listeners.size).toBe(0);
    await expect(q.promise).resolves.toBe(outputs);
    expect(r.withdrawn).toEqual([]);
    expect(r.completed.map((c) => c.outcome)).toEqual(['ok']);
  });

  it('gives its claimed leases back when it settles or is aborted, and only a leased request touches them', () => {
    const settled = claimedLease();
    const q = new QueuedRequest(init({ inputs: { x: settled.lease }, leased: true }), recorder().host);
    q.settle(undefined, outputs, done);
    expect(settled.lease.state).toBe('released');
    expect(settled.slab.live).toBe(0);

    const aborted = claimedLease();
    const ac = new AbortController();
    const a = new QueuedRequest(init({ inputs: { x: aborted.lease }, leased: true, signal: ac.signal }), recorder().host);
    ac.abort();
    void a.promise.catch(() => undefined);
    expect(aborted.lease.state).toBe('released');

    const kept = claimedLease();
    const n = new QueuedRequest(init({ inputs: { x: kept.lease }, leased: false }), recorder().host);
    n.settle(undefined, outputs, done);
    expect(kept.lease.state).toBe('submitted');
  });

  it('rejected before its submit returned it (dropped by the pump its own arrival ran), rejects after that job, not born rejected', async () => {
    // Node books a promise rejected with no handler yet (a WeakMap entry and a queue slot, undone when the handler
    // arrives); a request the scheduler drops inside its own submit has no handler until submit returns.
    const r = recorder();
    const early = new QueuedRequest(init(), r.host);
    early.settle(new EparaError('DEADLINE_EXCEEDED', 'dropped'));
    expect(inspect(early.promise)).toContain('<pending>');
    expect(r.completed.map((c) => c.outcome)).toEqual(['DEADLINE_EXCEEDED']);
    expect(isEparaError(await rejection(early.promise))).toBe(true);

    // Once handed over, a rejection is delivered at once.
    const later = new QueuedRequest(init(), r.host);
    later.handedOver();
    const handled = rejection(later.promise);
    later.settle(new EparaError('DEADLINE_EXCEEDED', 'dropped'));
    expect(inspect(later.promise)).toContain('<rejected>');
    expect(((await handled) as EparaError).code).toBe('DEADLINE_EXCEEDED');
  });
});
