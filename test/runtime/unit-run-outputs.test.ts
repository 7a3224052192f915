import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '@epara/runtime';
import { affineProfile } from '@epara/core';

/*
 * An instance that never stacks runs a request of size 1 on its batch axes with its outputs pre-allocated when
 * their sizes are known. A model whose output dim is free but no batch (onnxruntime's `Range`: `r [k]` from a
 * scalar) was run that way too, its `k` guessed to be the batch and pre-allocated at 1: every first request of
 * such a model ran twice (the pre-allocated run failed, logged by onnxruntime, then ran plainly), the whole
 * computation of a large output twice.
 */
const url = new URL('./fixtures/sized-output-backend.mjs', import.meta.url);

describe('a model whose output size an input sets, with no batch axis anywhere', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = createExecutor({
      devices: [{ id: 'cpu0', backend: { kind: 'module', url } }],
      services: [
        {
          id: 'zeros',
          model: new Uint8Array([1]),
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 60_000 },
          profile: affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 0.1, maxBatch: 4 }),
          sampleInputs: { n: { type: 'int64', dims: [], data: new BigInt64Array([4n]) } },
          devices: ['cpu0'],
        },
      ],
    });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
  });

  it('runs each request once, never into outputs of a guessed size', async () => {
    for (const n of [3, 5, 1]) {
      const out = await executor.submit('zeros', { n: { type: 'int64', dims: [], data: new BigInt64Array([BigInt(n)]) } });
      expect(out['r']!.dims).toEqual([n]);
      expect(Array.from(out['tries']!.data as Int32Array)).toEqual([0]);
    }
  });
});
