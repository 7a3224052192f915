import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import type { Executor } from '@epara/runtime';
import { f32, ITEMS, MODELS, SEPARABLE, type Name } from './fixtures/shape-models.js';
import { expectServedAsReference, reference, service, startExecutor, submitAll, type Reference } from './ground-truth.js';

/*
 * Shapes a model met for the first time may have: no batch dim, a fixed batch of one, symbolic dims named
 * differently per input, dims that must agree across inputs, scalars, outputs whose first dim is not the
 * request's (a reduction across the batch, a concatenation), and outputs whose shape depends on the data.
 * Each is served with several concurrent requests of different values; every answer must be raw
 * onnxruntime-node's on that request alone, and what must not be batched is not.
 */

describe('models of every shape, served as raw onnxruntime-node answers them', () => {
  let executor: Executor;
  const refs = new Map<Name, Reference>();
  const names = Object.keys(MODELS) as Name[];
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(MODELS[name]));
    executor = await startExecutor(names.map((name) => service(name, MODELS[name])));
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: every request gets its own answer, batched only when separable', async (name) => {
    const items = Array.from({ length: 9 }, (_, k) => ITEMS[name](k + 1));
    const served = await expectServedAsReference(executor, name, refs.get(name)!, items);
    if (!SEPARABLE[name]) expect(Math.max(...served.batchSizes)).toBe(1);
    // What the first request saw decides a check deferred to it: ask again after a second round.
    const again = await expectServedAsReference(executor, name, refs.get(name)!, items);
    if (SEPARABLE[name]) expect(Math.max(...served.batchSizes, ...again.batchSizes)).toBeGreaterThan(1);
    else expect(Math.max(...again.batchSizes)).toBe(1);
  });

  it('refuses a request whose inputs disagree on a dim the model names alike, and answers the others', async () => {
    const bad: NamedTensors = { a: f32([1, 3], 1), b: f32([1, 5], 2) };
    const broadcast: NamedTensors = { a: f32([1, 1], 1), b: f32([1, 5], 2) };
    const good = [ITEMS.agreeing(1), ITEMS.agreeing(2), ITEMS.agreeing(3)];
    const served = await submitAll(executor, 'agreeing', [good[0]!, bad, good[1]!, broadcast, good[2]!]);
    expect(served.results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'INVALID_INPUT', 'ok', 'INVALID_INPUT', 'ok']);
    const failed = served.results[1]!;
    if (!failed.ok) expect(failed.error.message).toMatch(/'seq'/);
  });
});

describe('the same models without a profile: measured at load from their fixed shapes or a sample', () => {
  const names = Object.keys(MODELS) as Name[];
  let executor: Executor;
  const refs = new Map<Name, Reference>();
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(MODELS[name]));
    const { profile: _given, ...noProfile } = service('x', MODELS.unbatched);
    // Samples of zeros, as a front end that knows nothing of the model makes them: the check must still see items mix.
    const zeros = (item: NamedTensors): NamedTensors =>
      Object.fromEntries(Object.entries(item).map(([k, t]) => [k, t.type === 'float32' || t.type === 'int32' ? { ...t, data: new (t.data.constructor as Float32ArrayConstructor)(t.data.length) } : t]));
    executor = await startExecutor(
      names.map((name) => ({ ...noProfile, id: name, model: MODELS[name], maxBatch: 4, sampleInputs: zeros(ITEMS[name](0)) })),
      { warmup: 0, repetitions: 1 },
    );
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: loads, measures and answers as raw onnxruntime-node', async (name) => {
    await expectServedAsReference(executor, name, refs.get(name)!, [1, 2, 3, 4, 5].map((k) => ITEMS[name](k)));
    expect(executor.instances().find((i) => i.serviceId === name)?.runMs).toBeGreaterThan(0);
  });
});
