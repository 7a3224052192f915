import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '@epara/runtime';
import { codeOf, doubler, item, values } from './helpers.js';

/*
 * `executor.load(plan, { sampleInputs })`: a load on another one-item sample than the service's, which the
 * service keeps once the load succeeds (a later load, such as a placement move, profiles on it too).
 * The fake model throws on an input of -7, so a sample holding -7 is one the model fails on.
 */
describe('executor.load with sampleInputs', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  const start = (sample = item(-7)): Executor =>
    (ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      profiling: { warmup: 0, repetitions: 1 },
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, sampleInputs: sample, maxBatch: 2 }],
    }));

  it('loads a model on a sample it runs on after it failed on the service sample, and keeps that sample for later loads', async () => {
    const ex = start();
    expect(await codeOf(ex.load({ serviceId: 's' }, { deviceIds: ['d0'] }))).toBe('MODEL_ERROR');
    expect(ex.instances()).toHaveLength(0);
    const first = await ex.load({ serviceId: 's' }, { deviceIds: ['d0'], sampleInputs: item(1, 2) });
    expect(values(await ex.submit('s', item(3, 4)))).toEqual([7, 9]);
    // Unloaded and loaded again without a sample: the service's sample is now the one that ran.
    await ex.unload(first.instanceId);
    const again = await ex.load({ serviceId: 's' }, { deviceIds: ['d0'] });
    expect(again.serviceId).toBe('s');
    expect(values(await ex.submit('s', item(0, 1)))).toEqual([1, 3]);
  });

  it('leaves the service sample as it was when the load on the given sample fails', async () => {
    const ex = start(item(1));
    expect(await codeOf(ex.load({ serviceId: 's' }, { deviceIds: ['d0'], sampleInputs: item(-7) }))).toBe('MODEL_ERROR');
    expect(await codeOf(ex.load({ serviceId: 's' }, { deviceIds: ['d0'] }))).toBe('resolved');
  });

  it('refuses a sample that is not tensors, naming the field', async () => {
    const ex = start();
    const bad = { x: { type: 'float32', dims: [1, 2], data: new Float32Array(3) } } as const;
    await expect(ex.load({ serviceId: 's' }, { deviceIds: ['d0'], sampleInputs: bad })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('options.sampleInputs.x.data') });
    await expect(ex.load({ serviceId: 's' }, { deviceIds: ['d0'], sampleInputs: { x: { type: 'complex64', dims: [1], data: [] } } as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('options.sampleInputs.x.type') });
    expect(ex.instances()).toHaveLength(0);
  });
});
