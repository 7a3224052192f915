import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { buildMlp, buildTinyCausalLm, createDevice, createExecutor, splitModel, type Executor } from '@epara/runtime';

const mlp = buildMlp({ inputSize: 16, hidden: [32, 32, 32], outputs: 8, seed: 3 });
const [stage0, stage1] = splitModel(mlp, { cutTensors: ['h1'] });
const lm = buildTinyCausalLm({ vocab: 40, dModel: 16, layers: 1, heads: 2, maxSeq: 24, seed: 5 });
const row = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 16], data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(seed * 7 + i)) } });

describe('executor: model-parallel and generation services (models helper engines)', () => {
  let ex: Executor;
  beforeAll(async () => {
    ex = createExecutor({
      devices: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      launchWhenIdle: true,
      services: [
        { id: 'mlp', model: { stages: [stage0!.bytes, stage1!.bytes] }, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, plan: { batchSize: 4 }, devices: ['a', 'b'] },
        { id: 'chat', model: lm, generation: { maxBatch: 2, maxSeq: 24, maxNewTokens: 4 }, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 10_000 }, devices: ['c'] },
      ],
    });
    await ex.start();
  });
  afterAll(async () => {
    await ex.close();
  });

  it('runs a model split into two stages on two devices, equal to the whole model', async () => {
    expect(ex.instances().find((i) => i.serviceId === 'mlp')).toMatchObject({ serviceStrategy: 'model-parallel', status: 'ready', deviceIds: ['a', 'b'] });
    const outs = await Promise.all([1, 2, 3, 4, 5].map((s) => ex.submit('mlp', row(s))));
    const whole = createDevice({ id: 'whole' });
    await whole.loadModel('m', { bytes: mlp });
    for (const [i, s] of [1, 2, 3, 4, 5].entries()) {
      const ref = await whole.run('m', row(s));
      const got = Array.from(outs[i]!['y']!.data as Float32Array);
      Array.from(ref['y']!.data as Float32Array).forEach((v, k) => expect(got[k]).toBeCloseTo(v, 4));
    }
    await whole.close();
  });

  it('streams generated tokens, deterministic, and serves whole generations through submit', async () => {
    const a = await ex.generate('chat', { tokens: [1, 2, 3] }).collect();
    const b = await ex.generate('chat', { tokens: [1, 2, 3], maxNewTokens: 4 }).collect();
    expect(a).toHaveLength(4);
    expect(b).toEqual(a);
    const out = await ex.submit('chat', { input_ids: { type: 'int64', dims: [1, 3], data: new BigInt64Array([1n, 2n, 3n]) } });
    expect(Array.from(out['tokens']!.data as BigInt64Array, Number)).toEqual(a);
    expect(() => ex.generate('mlp', { tokens: [1] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
