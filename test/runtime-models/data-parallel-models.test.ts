import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '@epara/runtime';
import { expectServedAsReference, reference, service, type Reference } from './ground-truth.js';
import { ITEMS, MODELS, type Name } from './fixtures/shape-models.js';

/*
 * Models of every shape served by one service spread over two devices (data parallelism: each batch runs on
 * one replica): every request's answer must be raw onnxruntime-node's on that request alone.
 */

const NAMES = Object.keys(MODELS) as Name[];

describe('models of every shape over two replicas (data-parallel), as raw onnxruntime-node answers them', () => {
  let executor: Executor;
  const refs = new Map<Name, Reference>();
  beforeAll(async () => {
    for (const name of NAMES) refs.set(name, await reference(MODELS[name]));
    executor = createExecutor({
      devices: [
        { id: 'cpu0', threads: 1 },
        { id: 'cpu1', threads: 1 },
      ],
      services: NAMES.map((name) => service(name, MODELS[name], { devices: ['cpu0', 'cpu1'] })),
      launchWhenIdle: true,
    });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(NAMES)('%s', async (name) => {
    expect(executor.instances().find((i) => i.serviceId === name)).toMatchObject({ serviceStrategy: 'data-parallel' });
    await expectServedAsReference(executor, name, refs.get(name)!, Array.from({ length: 10 }, (_, k) => ITEMS[name](k + 1)), { tolerance: 1e-6 });
  });
});
