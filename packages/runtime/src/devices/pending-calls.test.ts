import { EparaError } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { PendingCalls, SlabCalls } from './pending-calls.js';

describe('PendingCalls', () => {
  it('settles each call once through its own promise and reuses the finished records', async () => {
    const calls = new PendingCalls();
    const seen = new Set<object>();
    for (let id = 1; id <= 1000; id++) {
      const { call, promise } = calls.open(id);
      seen.add(call);
      expect(calls.take(id)).toBe(call);
      call.settle(undefined, id);
      calls.recycle(call);
      await expect(promise).resolves.toBe(id);
    }
    // Sequential calls: one record served all of them.
    expect(seen.size).toBe(1);
    expect(calls.size).toBe(0);
  });

  it('keeps a record per call in flight, finds calls answered out of order and those whose slot was taken', async () => {
    const calls = new PendingCalls();
    // A long call (a load) stays in flight while 500 others come and go: their ids wrap around its slot.
    const { call: long } = calls.open(1); // read at once: the returned object is reused by the next open

    const promises = new Map<number, Promise<unknown>>();
    for (let id = 2; id <= 501; id++) promises.set(id, calls.open(id).promise);
    expect(calls.size).toBe(501);
    for (const id of [...promises.keys()].reverse()) {
      const call = calls.take(id)!;
      expect(call.id).toBe(id);
      call.settle(undefined, id * 2);
      calls.recycle(call);
    }
    for (const [id, p] of promises) await expect(p).resolves.toBe(id * 2);
    expect(calls.take(1)).toBe(long);
    expect(calls.take(1)).toBeUndefined(); // answered once
    expect(calls.take(-1)).toBeUndefined(); // never opened (the shutdown message's id)
    expect(calls.size).toBe(0);
  });

  it('takes every call in flight at once (a crash), rejecting each with the error given', async () => {
    const calls = new PendingCalls();
    const promises = [1, 2, 65, 129, 3].map((id) => calls.open(id).promise);
    const all = calls.takeAll();
    expect(all.map((c) => c.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 65, 129]);
    expect(calls.size).toBe(0);
    const crash = new EparaError('WORKER_CRASHED', 'gone');
    for (const c of all) c.settle(crash, undefined);
    for (const p of promises) await expect(p).rejects.toBe(crash);
  });

  it('removes an abort listener when the call settles', async () => {
    const calls = new PendingCalls();
    const ac = new AbortController();
    let listeners = 0;
    const signal = ac.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof signal.removeEventListener;
    const { call, promise } = calls.open(7);
    call.signal = signal;
    call.onAbort = () => undefined;
    signal.addEventListener('abort', call.onAbort, { once: true });
    expect(listeners).toBe(1);
    calls.take(7)!.settle(undefined, 'done');
    await expect(promise).resolves.toBe('done');
    expect(listeners).toBe(0);
    expect(call.signal).toBeUndefined();
  });

  it('tells a listener instead of making a promise, and clears it with the record', () => {
    const calls = new PendingCalls();
    const heard: unknown[] = [];
    const listener = { onRun: (v: unknown) => heard.push(v), onFail: (e: EparaError) => heard.push(e.code) };
    const { call, promise } = calls.open(1, listener);
    expect(promise).toBeUndefined();
    calls.take(1);
    call.settle(undefined, 'ran');
    calls.recycle(call);
    // The reused record serves a promise call next: the listener is not told again.
    const { call: next, promise: rejected } = calls.open(2); // read at once: the returned object is reused
    expect(next).toBe(call);
    calls.take(2);
    next.settle(new EparaError('MODEL_ERROR', 'x'), undefined);
    const failed = calls.open(3, listener).call;
    calls.take(3);
    failed.settle(new EparaError('CLOSED', 'y'), undefined);
    expect(heard).toEqual(['ran', 'CLOSED']);
    return expect(rejected).rejects.toMatchObject({ code: 'MODEL_ERROR' });
  });
});

describe('SlabCalls', () => {
  it('finds each home by its call id, colliding ids included, once', () => {
    const homes = new SlabCalls<string>();
    // 1, 65 and 129 share a slot; 2 has its own.
    for (const id of [1, 65, 129, 2]) homes.set(id, `h${id}`);
    expect(homes.take(65)).toBe('h65');
    expect(homes.take(65)).toBeUndefined();
    expect(homes.take(1)).toBe('h1');
    expect(homes.take(3)).toBeUndefined();
    expect(homes.takeAll().sort()).toEqual(['h129', 'h2']);
    expect(homes.take(129)).toBeUndefined();
  });
});

