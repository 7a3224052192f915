import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError, type NamedTensors } from '@epara/core';
import { buildMlp, buildTinyCausalLm, createDevice, createExecutor, splitModel, type DeviceHandle, type Executor } from '@epara/runtime';
import { codeOf, nextEvent } from '../runtime/helpers.js';
import { addModel, addService, CRASH, faultyWorkerUrl, first, HANG, inStuckRun, item, KV_CRASH_TOKEN } from './helpers.js';

// The lifecycle of instances and devices under faults, on real worker threads with onnxruntime-node.
describe('unload, reload and device failure on onnxruntime-node', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('unload() of an instance whose run never ends settles after closeWaitMs: the stuck request fails typed, the worker restarts, a co-located service keeps its model and its batch sent ahead runs again', async () => {
    ex = createExecutor({
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 300 }],
      services: [addService({ maxBatch: 1 }), addService({ id: 'add2', model: addModel(2), maxBatch: 1 })],
    });
    await ex.start();
    const stuckId = ex.instances().find((i) => i.serviceId === 'add')!.instanceId;
    const hanging = inStuckRun();
    const stuck = codeOf(ex.submit('add', item(HANG)));
    await hanging; // the worker is inside the run that never ends
    const dispatched = nextEvent(ex, 'batchDispatched');
    const ahead = ex.submit('add2', item(3)).then(first);
    await dispatched; // sent to the worker behind the stuck run: queued there, never started
    const restarted = nextEvent<{ reloadedModels: number }>(ex, 'workerRestarted');
    await ex.unload(stuckId);
    expect(await stuck).toBe('WORKER_CRASHED');
    expect(await ahead).toBe(5); // it never ran on the old worker: run again on the new one
    expect(ex.instances().map((i) => i.serviceId)).toEqual(['add2']);
    expect((await restarted).reloadedModels).toBe(1); // add2's model, not the unloaded one
    expect(first(await ex.submit('add2', item(5)))).toBe(7);
    expect(await codeOf(ex.submit('add', item(5)))).toBe('NO_INSTANCE');
    // The device serves a new instance of the unloaded service.
    await ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'] });
    expect(first(await ex.submit('add', item(5)))).toBe(6);
  }, 60_000);

  it("unload() of a stuck instance whose own batch was sent ahead: that batch never ran, and fails NO_INSTANCE saying so", async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 300 }], services: [addService({ maxBatch: 1 })] });
    await ex.start();
    const [inst] = ex.instances();
    const hanging = inStuckRun();
    const stuck = codeOf(ex.submit('add', item(HANG)));
    await hanging;
    const dispatched = nextEvent(ex, 'batchDispatched');
    const ahead = ex.submit('add', item(3)).then(
      () => undefined,
      (err: unknown) => err as { code: string; message: string; details: Record<string, unknown> },
    );
    await dispatched;
    await ex.unload(inst!.instanceId);
    expect(await stuck).toBe('WORKER_CRASHED');
    const err = await ahead;
    expect(err?.code).toBe('NO_INSTANCE');
    expect(err?.details['ran']).toBe(false);
    expect(err?.message).toMatch(/never ran/);
  }, 60_000);

  it('a device used directly: a batch sent behind a stuck run runs again after unloadModel recycles the worker; a direct run there fails saying it never ran', async () => {
    const device = createDevice({ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 300 });
    try {
      await device.loadModel('a', { bytes: addModel(1) });
      await device.loadModel('b', { bytes: addModel(2) });
      const hanging = inStuckRun();
      const stuck = codeOf(device.runBatch!('a', [item(HANG)], { x: 0 }));
      await hanging;
      const again = device.runBatch!('b', [item(3), item(4)], { x: 0 });
      const direct = device.run('b', item(5)).then(
        () => undefined,
        (err: unknown) => err as { code: string; details: Record<string, unknown> },
      );
      await device.unloadModel('a');
      expect(await stuck).toBe('WORKER_CRASHED');
      const run = await again;
      expect(Array.from(run.outputs['y']!.data as Float32Array)).toEqual([5, 5, 5, 5, 6, 6, 6, 6]);
      const err = await direct; // its data went to the terminated worker
      expect([err?.code, err?.details['ran']]).toEqual(['WORKER_CRASHED', false]);
      expect(first(await device.run('b', item(1)))).toBe(3);
    } finally {
      await device.close();
    }
  }, 60_000);

  it('a device that gave up after maxRestarts takes its instances down: deviceFailed, instanceChanged, stats, and submits fail at once', async () => {
    ex = createExecutor({
      maxRestarts: 0,
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0 }],
      services: [addService({ maxBatch: 1 })],
    });
    await ex.start();
    const [inst] = ex.instances();
    const failed = nextEvent<{ deviceId: string; reason: string }>(ex, 'deviceFailed');
    const statuses: string[] = [];
    // What a reader of instances() (the mesh's view of this server) sees when each change is announced.
    const seen: (string | undefined)[] = [];
    const unloaded = new Promise<void>((resolve) =>
      ex!.on('instanceChanged', (e) => {
        statuses.push(e.status);
        seen.push(ex!.instances().find((i) => i.instanceId === inst!.instanceId)?.status);
        if (e.status === 'unloaded') resolve();
      }),
    );
    expect(await codeOf(ex.submit('add', item(CRASH)))).toBe('WORKER_CRASHED');
    expect((await failed).deviceId).toBe('cpu0');
    // At once: the instance is out of service (no longer ready), then unloaded.
    expect(statuses[0]).toBe('failed');
    expect(ex.instances().filter((i) => i.status === 'ready')).toEqual([]);
    await unloaded;
    expect(statuses).toEqual(['failed', 'draining', 'unloaded']);
    // Core's lifecycle has no failed state: a failed instance is out of service, `draining` in instances() from the
    // moment its failure is announced (never `ready` again), then gone.
    expect(seen).toEqual(['draining', 'draining', undefined]);
    expect(ex.instances().map((i) => i.instanceId)).not.toContain(inst!.instanceId);
    expect(ex.stats().devices['cpu0']!.failed).toBe(true);
    expect(ex.estimate('add')?.ready ?? false).toBe(false);
    // A deadline an hour away: the request must not wait for it.
    expect(await codeOf(ex.submit('add', item(1), { deadline: Date.now() + 3_600_000 }))).toBe('NO_INSTANCE');
    // A load onto the failed device is refused, typed.
    expect(await codeOf(ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'] }))).toBe('WORKER_CRASHED');
  }, 60_000);

  it('unload() while a load of the same instance id is pending: the load fails typed, nothing is left behind', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService({ devices: undefined })] });
    await ex.start();
    const loading = ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'], instanceId: 'a' }).then(
      () => 'loaded',
      (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`),
    );
    await ex.unload('a');
    expect(await loading).toBe('ABORTED');
    expect(ex.instances()).toEqual([]);
    expect(await codeOf(ex.submit('add', item(1)))).toBe('NO_INSTANCE');
    // The id is free again, and the new instance serves.
    await ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'], instanceId: 'a' });
    expect(first(await ex.submit('add', item(1)))).toBe(2);
  }, 60_000);

  it('load() with a null signal, a signal-like object, or one the caller aborts mid-load: loaded, loaded, ABORTED — always typed', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService({ devices: undefined })] });
    await ex.start();
    await ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'], instanceId: 'n', signal: null as unknown as undefined });
    const listeners = new Set<() => void>();
    const like = { aborted: false, addEventListener: (_: 'abort', l: () => void) => void listeners.add(l), removeEventListener: (_: 'abort', l: () => void) => void listeners.delete(l) };
    await ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'], instanceId: 'l', signal: like });
    expect(listeners.size).toBe(0); // let go once the load ended
    const caller = new AbortController();
    const aborted = codeOf(ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'], instanceId: 'c', signal: caller.signal }));
    caller.abort();
    expect(await aborted).toBe('ABORTED');
    expect(ex.instances().map((i) => i.instanceId).sort()).toEqual(['l', 'n']);
    expect(first(await ex.submit('add', item(1)))).toBe(2);
  }, 60_000);

  it('two concurrent loads under one instance id: one succeeds, the other is refused INVALID_OPTIONS, and one instance serves', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService({ devices: undefined })] });
    await ex.start();
    const outcomes = await Promise.all(
      [0, 1].map((): Promise<string> => ex!.load({ serviceId: 'add' }, { deviceIds: ['cpu0'], instanceId: 'a' }).then(() => 'loaded', (err: unknown) => (isEparaError(err) ? err.code : String(err)))),
    );
    expect(outcomes.sort()).toEqual(['INVALID_OPTIONS', 'loaded']);
    expect(ex.instances().map((i) => i.instanceId)).toEqual(['a']);
    expect(first(await ex.submit('add', item(1)))).toBe(2);
    await ex.unload('a');
    expect(ex.instances()).toEqual([]);
  }, 60_000);

  it('a second unload() of a draining instance waits for the first one', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService()] });
    await ex.start();
    const [inst] = ex.instances();
    const queued = Array.from({ length: 20 }, (_, i) => ex!.submit('add', item(i)).then(first));
    const one = ex.unload(inst!.instanceId);
    await ex.unload(inst!.instanceId);
    expect(ex.instances()).toEqual([]); // gone by the time the second unload returns
    await one;
    expect(await Promise.all(queued)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }, 60_000);

  it("a stream's frames across an unload of its instance: the queued ones answer, a push with no instance throws NO_INSTANCE, a reloaded instance takes the next", async () => {
    ex = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0' }], services: [addService({ sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 60_000 } })] });
    await ex.start();
    const [inst] = ex.instances();
    const stream = ex.openStream('add', { rateHz: 5 });
    const results = (async () => {
      const out = [];
      for await (const r of stream) out.push(r);
      return out;
    })();
    for (let v = 0; v < 8; v++) stream.push(item(v));
    await ex.unload(inst!.instanceId);
    expect(() => stream.push(item(100))).toThrow(expect.objectContaining({ code: 'NO_INSTANCE' }));
    await ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'] });
    expect(stream.push(item(8))).toBe(8);
    expect(await stream.close()).toEqual({ pushed: 9, completed: 9, dropped: 0 });
    const got = await results;
    expect(got.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(got.map((r) => (r.ok ? first(r.outputs) : r.error.code))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 60_000);

  it('close() racing a load: the load settles typed, every submit settles, close ends', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService()] });
    await ex.start();
    const submits = Array.from({ length: 50 }, (_, i) => codeOf(ex!.submit('add', item(i))));
    const loading = codeOf(ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'] }));
    await ex.close();
    expect(['resolved', 'CLOSED']).toContain(await loading);
    for (const c of await Promise.all(submits)) expect(['resolved', 'CLOSED']).toContain(c);
    expect(await codeOf(ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0'] }))).toBe('CLOSED');
  }, 60_000);

  it('unload() racing close(): both end, every queued request settles', async () => {
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService()] });
    await ex.start();
    const [inst] = ex.instances();
    const submits = Array.from({ length: 30 }, (_, i) => codeOf(ex!.submit('add', item(i))));
    await Promise.all([ex.unload(inst!.instanceId), ex.close(), ex.unload(inst!.instanceId)]);
    for (const c of await Promise.all(submits)) expect(['resolved', 'CLOSED']).toContain(c);
  }, 60_000);
});

describe('a device run given data of another type than the model input (onnxruntime-node)', () => {
  const devices: DeviceHandle[] = [];
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
  });

  it('Int32Array data for a float32 input is INVALID_INPUT naming the input and both types', async () => {
    const d = createDevice({ id: 'cpu0' });
    devices.push(d);
    await d.loadModel('add', { bytes: addModel(1) });
    const wrongClass = await d.run('add', { x: { type: 'float32', dims: [1, 4], data: new Int32Array([1, 2, 3, 4]) as unknown as Float32Array } }).catch((e: unknown) => e);
    expect(wrongClass).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x' } });
    expect((wrongClass as Error).message).toMatch(/float32/);
    expect((wrongClass as Error).message).toMatch(/Int32Array|int32/);
    const wrongType = await d.run('add', { x: { type: 'int32', dims: [1, 4], data: new Int32Array([1, 2, 3, 4]) } }).catch((e: unknown) => e);
    expect(wrongType).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x', expected: 'float32', actual: 'int32' } });
    const unknownInput = await d.run('add', { z: { type: 'float32', dims: [1, 4], data: new Float32Array(4) } }).catch((e: unknown) => e);
    expect(unknownInput).toMatchObject({ code: 'INVALID_INPUT' });
    const bigints = await d.run('add', { x: { type: 'float32', dims: [1, 4], data: new BigInt64Array(4) as unknown as Float32Array } }).catch((e: unknown) => e);
    expect(bigints).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x', expected: 'float32', actual: 'BigInt64Array' } });
    const rank = await d.run('add', { x: { type: 'float32', dims: [4], data: new Float32Array(4) } }).catch((e: unknown) => e);
    expect(rank).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x' } });
    const fixedDim = await d.run('add', { x: { type: 'float32', dims: [1, 5], data: new Float32Array(5) } }).catch((e: unknown) => e);
    expect(fixedDim).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x' } });
    // Through the batch path too.
    const batched = await d.runBatch!('add', [{ x: { type: 'float32', dims: [1, 4], data: new Int32Array(4) as unknown as Float32Array } }], { x: 0 }).catch((e: unknown) => e);
    expect(batched).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x' } });
    // The device still serves right answers.
    expect(Array.from((await d.run('add', { x: { type: 'float32', dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) } }))['y']!.data as Float32Array)).toEqual([2, 3, 4, 5]);
  }, 60_000);

  it('the same through submit and a stream', async () => {
    const ex = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0' }], services: [addService()] });
    try {
      await ex.start();
      const wrong = { x: { type: 'float32' as const, dims: [1, 4], data: new Int32Array([1, 2, 3, 4]) as unknown as Float32Array } };
      const err = await ex.submit('add', wrong).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_INPUT', details: { input: 'x' } });
      const stream = ex.openStream('add', { rateHz: 5 });
      const results = (async () => {
        const out = [];
        for await (const r of stream) out.push(r);
        return out;
      })();
      // A frame the service cannot take is refused at push, without taking a sequence number.
      expect(() => stream.push(wrong)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: expect.objectContaining({ input: 'x' }) }));
      expect(stream.push(item(1))).toBe(0);
      await stream.close();
      const got = await results;
      expect(got).toHaveLength(1);
      const only = got[0]!;
      expect(only.ok && first(only.outputs)).toBe(2);
    } finally {
      await ex.close();
    }
  }, 60_000);
});

describe('generation whose device worker restarts mid-sequence (onnxruntime-node)', () => {
  const lm = buildTinyCausalLm({ vocab: 40, dModel: 16, layers: 1, heads: 2, maxSeq: 32, seed: 5, kvCache: true });
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('a sequence whose KV cache died with the worker fails WORKER_CRASHED (never continues on an empty cache); later sequences answer as before the crash', async () => {
    ex = createExecutor({
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0 }],
      services: [{ id: 'chat', model: lm, generation: { maxBatch: 2, maxSeq: 32, maxNewTokens: 24 }, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, devices: ['cpu0'] }],
    });
    await ex.start();
    const prompt = [1, 2, 3];
    const reference = await ex.generate('chat', { tokens: prompt, maxNewTokens: 24 }).collect();
    expect(reference).toHaveLength(24);
    // A long sequence under way when another's prefill kills the worker.
    const a = ex.generate('chat', { tokens: prompt, maxNewTokens: 24 });
    const got: number[] = [];
    const iterator = a[Symbol.asyncIterator]();
    got.push((await iterator.next()).value as number);
    const restarted = nextEvent(ex, 'workerRestarted');
    const b = codeOfAll(ex.generate('chat', { tokens: [KV_CRASH_TOKEN, 1], maxNewTokens: 4 }).collect());
    let aOutcome = 'completed';
    try {
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) got.push(r.value);
    } catch (err) {
      aOutcome = isEparaError(err) ? err.code : `untyped: ${String(err)}`;
    }
    expect(await b).toBe('WORKER_CRASHED');
    // Either it finished before the crash, with the reference's tokens, or it failed typed: what it got before is
    // the reference's prefix (never tokens from a cache rebuilt empty).
    expect(['completed', 'WORKER_CRASHED']).toContain(aOutcome);
    expect(got).toEqual(reference.slice(0, got.length));
    if (aOutcome === 'completed') expect(got).toEqual(reference);
    await restarted;
    expect(await ex.generate('chat', { tokens: prompt, maxNewTokens: 24 }).collect()).toEqual(reference);
    const out = await ex.submit('chat', { input_ids: { type: 'int64', dims: [1, 3], data: BigInt64Array.from(prompt, BigInt) } });
    expect(Array.from(out['tokens']!.data as BigInt64Array, Number)).toEqual(reference);
  }, 120_000);

  it('submit with input ids of another array class than their type is INVALID_INPUT, never a TypeError', async () => {
    ex = createExecutor({
      devices: [{ id: 'cpu0' }],
      services: [{ id: 'chat', model: lm, generation: { maxBatch: 2, maxSeq: 32, maxNewTokens: 4 }, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, devices: ['cpu0'] }],
    });
    await ex.start();
    const cases: unknown[] = [
      { input_ids: { type: 'int64', dims: [1, 3], data: new Float32Array([1.5, 2, 3]) } },
      { input_ids: { type: 'int32', dims: [1, 3], data: new BigInt64Array([1n, 2n, 3n]) } },
      { input_ids: { type: 'int64', dims: [1, 3] } },
      { input_ids: { type: 'int64', data: new BigInt64Array([1n]) } },
      { input_ids: { type: 'int64', dims: [1, 5], data: new BigInt64Array([1n]) } },
      { input_ids: null },
    ];
    for (const inputs of cases) expect(await codeOf(ex.submit('chat', inputs as NamedTensors))).toBe('INVALID_INPUT');
    const ok = await ex.submit('chat', { input_ids: { type: 'int32', dims: [3], data: new Int32Array([1, 2, 3]) } });
    expect(ok['tokens']!.dims).toEqual([1, 4]);
  }, 60_000);
});

async function codeOfAll(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'completed',
    (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`),
  );
}

describe('aborts racing completion (onnxruntime-node)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('each request settles once: its own answer or ABORTED, one requestCompleted each, whenever the abort lands', async () => {
    ex = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0' }], services: [addService({ maxBatch: 8 })] });
    await ex.start();
    const completed = new Map<number, number>();
    let seen = 0;
    ex.on('requestCompleted', () => void seen++);
    const n = 400;
    const controllers = Array.from({ length: n }, () => new AbortController());
    const settled = Array.from({ length: n }, (_, i) =>
      ex!.submit('add', item(i), { signal: controllers[i]!.signal }).then(
        (out) => {
          completed.set(i, (completed.get(i) ?? 0) + 1);
          return first(out);
        },
        (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`),
      ),
    );
    // Aborts at every stage: at once, after a turn of the event loop, once batches are running, after answers.
    for (let i = 0; i < n; i += 4) controllers[i]!.abort();
    await new Promise((r) => setImmediate(r));
    for (let i = 1; i < n; i += 4) controllers[i]!.abort();
    await nextEvent(ex, 'batchCompleted');
    for (let i = 2; i < n; i += 4) controllers[i]!.abort();
    const outcomes = await Promise.all(settled);
    for (let i = 3; i < n; i += 4) controllers[i]!.abort(); // too late: already answered
    for (const [i, o] of outcomes.entries()) {
      if (typeof o === 'number') expect(o).toBe(i + 1);
      else expect(o).toBe('ABORTED');
      if (i % 4 === 3) expect(o).toBe(i + 1);
    }
    expect(seen).toBe(n);
    // Resubmitted without a signal, every one answers right.
    expect(await Promise.all(Array.from({ length: n }, (_, i) => ex!.submit('add', item(i)).then(first)))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  }, 120_000);

  it('a huge group aborted at once and resubmitted: every first submit is ABORTED or answered right, every resubmit answered right', async () => {
    // A partial batch launches once the device idles: by default the last, partial batch of the resubmits waited
    // (up to most of its minute's deadline) for the burst's arrival rate to decay; nothing here is about when
    // batches launch.
    ex = createExecutor({ devices: [{ id: 'cpu0' }], services: [addService({ maxBatch: 16 })], launchWhenIdle: true });
    await ex.start();
    const n = 3000;
    const group = new AbortController();
    const firstRound = Array.from({ length: n }, (_, i) => ex!.submit('add', item(i), { signal: group.signal }).then(first, (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`)));
    group.abort();
    const again = Array.from({ length: n }, (_, i) => ex!.submit('add', item(i)).then(first));
    for (const [i, o] of (await Promise.all(firstRound)).entries()) expect([i + 1, 'ABORTED', 'OVERLOADED']).toContain(o);
    expect(await Promise.all(again)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  }, 120_000);
});

describe('an engine instance stuck in a run (onnxruntime-node)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('unload() of a pipeline whose first stage never ends settles after closeWaitMs, and the stuck request fails typed', async () => {
    const mlp = buildMlp({ inputSize: 4, hidden: [8, 8], outputs: 2, seed: 3 });
    const [stage0, stage1] = splitModel(mlp, { cutTensors: ['h1'] });
    ex = createExecutor({
      launchWhenIdle: true,
      devices: [
        { id: 'a', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 300 },
        { id: 'b', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 300 },
      ],
      services: [{ id: 'mlp', model: { stages: [stage0!.bytes, stage1!.bytes] }, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, plan: { batchSize: 1 }, devices: ['a', 'b'] }],
    });
    await ex.start();
    const row = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 4], data: new Float32Array([v, v, v, v]) } });
    const before = await ex.submit('mlp', row(1));
    const [inst] = ex.instances();
    const stuck = codeOf(ex.submit('mlp', row(HANG)));
    await new Promise((r) => setTimeout(r, 200)); // most likely in its first stage by then; queued, it fails CLOSED instead
    await ex.unload(inst!.instanceId);
    expect(['WORKER_CRASHED', 'CLOSED']).toContain(await stuck);
    expect(ex.instances()).toEqual([]);
    await ex.load({ serviceId: 'mlp' }, { deviceIds: ['a', 'b'] });
    expect(await ex.submit('mlp', row(1))).toEqual(before);
  }, 60_000);
});
