import { afterAll, describe, expect, it } from 'vitest';
import {
  buildMlp,
  buildTinyCausalLm,
  createExecutor,
  createGenerationEngine,
  createGenerationService,
  createPipelineEngine,
  splitModel,
} from '@epara/runtime';
import { floatItem, values } from './helpers.js';

const mlp = buildMlp({ inputSize: 16, hidden: [32, 32], outputs: 4, seed: 8 });
const stages = splitModel(mlp, { cutTensors: ['h0'] });
const lm = buildTinyCausalLm({ vocab: 32, dModel: 16, layers: 1, heads: 2, maxSeq: 24, seed: 8 });

const executor = createExecutor({
  devices: [{ id: 'd0' }, { id: 'd1' }, { id: 'whole' }, { id: 'lm' }],
  services: [
    {
      id: 'mlp-pipeline',
      sensitivity: 'latency',
      slo: { kind: 'latency', deadlineMs: 5_000 },
      devices: ['d0', 'd1'],
      plan: { serviceStrategy: 'model-parallel', devices: 2, batchSize: 4 },
      engine: async ({ devices, clock, logger }) => {
        const engine = createPipelineEngine({ stages: devices.map((device, i) => ({ device, model: { bytes: stages[i]!.bytes } })), batchSize: 4, clock, logger });
        await engine.start();
        return engine;
      },
    },
    {
      id: 'chat',
      sensitivity: 'latency',
      slo: { kind: 'latency', deadlineMs: 10_000 },
      devices: ['lm'],
      engine: async ({ devices, clock }) => {
        const engine = createGenerationEngine({ device: devices[0]!, model: { bytes: lm }, maxBatch: 4, maxSeq: 24, clock });
        await engine.start();
        return createGenerationService(engine, { maxNewTokens: 6 });
      },
    },
  ],
});

afterAll(() => executor.close());

describe('the executor hosts the pipeline and generation engines as services', () => {
  it('serves a split model through the executor with the whole model’s outputs', async () => {
    await executor.start();
    const items = Array.from({ length: 6 }, (_, i) => floatItem('x', [16], i));
    const outs = await Promise.all(items.map((it) => executor.submit('mlp-pipeline', it)));
    const direct = createPipelineEngine({
      stages: [{ device: executor.device('whole')!, model: { bytes: mlp } }],
      batchSize: 6,
    });
    const ref = await Promise.all(items.map((it) => direct.submit(it, { deadline: Date.now() + 5_000, priority: 0 })));
    await direct.close();
    outs.forEach((o, i) => values(o['y']!).forEach((v, k) => expect(v).toBeCloseTo(values(ref[i]!['y']!)[k]!, 5)));
  });

  it('serves generation through the executor: the same tokens as the engine alone', async () => {
    const prompt = [3, 1, 4, 1, 5];
    const out = await executor.submit('chat', { input_ids: { type: 'int64', dims: [1, 5], data: BigInt64Array.from(prompt, BigInt) } });
    const engine = createGenerationEngine({ device: executor.device('whole')!, model: { bytes: lm }, maxBatch: 1, maxSeq: 24 });
    expect(values(out['tokens']!)).toEqual(await engine.generate({ tokens: prompt, maxNewTokens: 6 }).collect());
    await engine.close();
  });
});
