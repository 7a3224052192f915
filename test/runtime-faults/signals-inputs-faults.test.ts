import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '@epara/runtime';
import type { NamedTensors, StreamResult } from '@epara/core';
import { codeOf, nextEvent } from '../runtime/helpers.js';
import { addService, faultyWorkerUrl, first, HANG, item } from './helpers.js';

const tensor = (data: Float32Array): NamedTensors => ({ x: { type: 'float32', dims: [1, 4], data } });

describe('abort signals on onnxruntime-node', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('an already-aborted signal refuses at once; one signal shared by many requests keeps no listener once they settle', async () => {
    // A partial batch launches once the device idles: by default the lone request at the end waited (up to most of
    // its minute's deadline) for the burst's arrival rate to decay, as a batch that would fill soon; nothing here
    // is about when batches launch.
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService()], launchWhenIdle: true });
    await ex.start();
    expect(await codeOf(ex.submit('add', item(1), { signal: AbortSignal.abort() }))).toBe('ABORTED');
    const shared = new AbortController();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => ex!.submit('add', item(i), { signal: shared.signal }).then(first)));
    expect(answers).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    // Aborted while queued: every request settles ABORTED, and the listeners go with them.
    const later = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const pending = Array.from({ length: 100 }, (_, i) => codeOf(ex!.submit('add', item(i), { signal: later.signal })));
    // One listener for the whole group, not one per request: Node warns past ten listeners on one signal.
    expect(getEventListeners(later.signal, 'abort')).toHaveLength(1);
    later.abort();
    expect(new Set(await Promise.all(pending))).toEqual(new Set(['ABORTED']));
    expect(getEventListeners(later.signal, 'abort')).toHaveLength(0);
    await new Promise((r) => setImmediate(r)); // a process warning is emitted on the next tick
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(await codeOf(ex.submit('add', item(5), { signal: later.signal }))).toBe('ABORTED'); // the signal stays aborted
    expect(first(await ex.submit('add', item(5)))).toBe(6);
  }, 60_000);

  it('aborting a request whose run never ends settles it ABORTED at once; close() still ends', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 200 }], services: [addService({ maxBatch: 1 })] });
    await ex.start();
    const controller = new AbortController();
    const dispatched = nextEvent(ex, 'batchDispatched');
    const stuck = codeOf(ex.submit('add', item(HANG), { signal: controller.signal }));
    await dispatched;
    controller.abort();
    expect(await stuck).toBe('ABORTED');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  }, 60_000);

  it('a stream aborted with a frame stuck in its run, and the executor closed under it: every pushed frame gets a result', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 200 }], services: [addService({ maxBatch: 1 })] });
    await ex.start();
    const controller = new AbortController();
    const stream = ex.openStream('add', { rateHz: 5, signal: controller.signal });
    const results: StreamResult[] = [];
    const iterated = (async () => {
      for await (const r of stream) results.push(r);
    })();
    const dispatched = nextEvent(ex, 'batchDispatched');
    stream.push(item(HANG));
    await dispatched;
    stream.push(item(1));
    stream.push(item(2));
    controller.abort();
    await ex.close();
    await iterated;
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2]);
    for (const r of results) expect(r.ok ? 'ok' : r.error.code).toMatch(/^(ABORTED|CLOSED|STALE_FRAME)$/);
    expect(() => stream.push(item(3))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  }, 60_000);
});

describe('input and output memory on onnxruntime-node', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  // Slabs and the doorbell (the defaults), and the copy path (slabs off: a lone request's buffer moves to the worker).
  describe.each([
    { path: 'slabs', device: {} },
    { path: 'copy', device: { inputSlabBytes: 0, doorbellSlotBytes: 0 } },
  ])('$path', ({ device }) => {
    it('answers inputs in SharedArrayBuffers, in views of one buffer, and one tensor given to two requests', async () => {
      ex = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0', ...device }], services: [addService()] });
      await ex.start();
      const shared = new Float32Array(new SharedArrayBuffer(32));
      shared.fill(3, 0, 4).fill(4, 4, 8);
      const one = new Float32Array(12).fill(5, 0, 4).fill(6, 4, 8).fill(7, 8, 12);
      const same = tensor(new Float32Array(4).fill(8));
      const sent = [tensor(shared.subarray(0, 4)), tensor(shared.subarray(4, 8)), tensor(one.subarray(0, 4)), tensor(one.subarray(4, 8)), tensor(one.subarray(8, 12)), same, same];
      const answers = await Promise.all(sent.map((t) => ex!.submit('add', t).then((o) => Array.from(o['y']!.data as Float32Array), (err: { code?: string }) => err.code)));
      expect(answers.slice(0, 5)).toEqual([3, 4, 5, 6, 7].map((v) => [v + 1, v + 1, v + 1, v + 1]));
      // The same tensor twice: on the copy path the first request's buffer may move to the worker, and the second is
      // then refused typed (docs/runtime.md, Quick start); never answered with another request's values.
      for (const a of answers.slice(5)) expect(a === 'INVALID_INPUT' || JSON.stringify(a) === JSON.stringify([9, 9, 9, 9])).toBe(true);
      expect(Array.from(shared)).toEqual([3, 3, 3, 3, 4, 4, 4, 4]); // the caller's shared memory is left as it was
    }, 60_000);

    it('outputs stay the caller\'s: later batches, and a caller reusing its input buffer, never change an answer already given', async () => {
      ex = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0', ...device }], services: [addService()] });
      await ex.start();
      const kept: NamedTensors[] = [];
      const reused = new Float32Array(4);
      for (let i = 0; i < 40; i++) {
        const input = i % 2 === 0 ? (reused.buffer.byteLength > 0 ? reused : new Float32Array(4)) : new Float32Array(4);
        input.fill(i);
        kept.push(await ex.submit('add', tensor(input)));
        if (input.buffer.byteLength > 0) input.fill(-1000); // the caller reuses its buffer, where it still has it (the copy path moves it)
      }
      const pairs = await Promise.all(Array.from({ length: 40 }, (_, i) => ex!.submit('add', item(100 + i))));
      expect(kept.map(first)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(pairs.map(first)).toEqual(Array.from({ length: 40 }, (_, i) => 101 + i));
      for (const [i, out] of kept.entries()) expect(Array.from(out['y']!.data as Float32Array)).toEqual([i + 1, i + 1, i + 1, i + 1]);
    }, 60_000);
  });

  it('5 000 requests submitted at once all settle with their own answers, within bounded memory', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService({ maxBatch: 32 })] });
    await ex.start();
    const before = process.memoryUsage().heapUsed;
    const n = 5_000;
    const settled = await Promise.all(Array.from({ length: n }, (_, i) => ex!.submit('add', item(i % 1000)).then(first, (err: { code?: string }) => err.code ?? 'untyped')));
    const wrong = settled.filter((s, i) => typeof s === 'number' && s !== (i % 1000) + 1).length;
    expect(wrong).toBe(0);
    // Refusals under the flood are typed (a full queue: OVERLOADED); nothing is left unsettled or untyped.
    expect(settled.every((s) => typeof s === 'number' || s === 'OVERLOADED' || s === 'DEADLINE_EXCEEDED')).toBe(true);
    expect(settled.filter((s) => typeof s === 'number').length).toBeGreaterThan(0);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(256 * 1024 * 1024);
    expect(ex.stats().services['add']).toMatchObject({ queued: 0 });
  }, 120_000);
});
