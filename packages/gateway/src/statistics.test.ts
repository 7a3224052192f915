import { EparaError } from '@epara/core';
import type { ClusterView, NamedTensors } from '@epara/core';
import { expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { ExecutionStatistics } from './inference/model-statistics.js';

/*
 * Triton's statistics extension over HTTP (what tritonclient's get_inference_statistics reads): the requests the
 * gateway answered per model version, and the executor's figures from the host, reported on the latest version.
 */

const execution: ExecutionStatistics = {
  executions: 3,
  queue: { count: 4, ns: 4000 },
  computeInput: { count: 3, ns: 300 },
  computeInfer: { count: 3, ns: 30_000 },
  computeOutput: { count: 3, ns: 0 },
  batches: [
    { batchSize: 1, computeInput: { count: 2, ns: 200 }, computeInfer: { count: 2, ns: 20_000 }, computeOutput: { count: 2, ns: 0 } },
    { batchSize: 2, computeInput: { count: 1, ns: 100 }, computeInfer: { count: 1, ns: 10_000 }, computeOutput: { count: 1, ns: 0 } },
  ],
};

it('answers /v2/models[/{m}[/versions/{v}]]/stats with the requests answered and the executor figures', async () => {
  const node = {
    id: 'n1',
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit: (_s: string, inputs: NamedTensors): Promise<NamedTensors> => (inputs['x']!.dims[1] === 3 ? Promise.reject(new EparaError('MODEL_ERROR', 'boom')) : Promise.resolve({ y: inputs['x']! })),
  };
  const tensor = { name: 'x', datatype: 'FP32', shape: [-1, -1] };
  const gateway = createGateway({
    node,
    models: [
      { name: 'm', versions: ['1', '2'], inputs: [tensor], outputs: [{ ...tensor, name: 'y' }] },
      { name: 'other', inputs: [tensor], outputs: [{ ...tensor, name: 'y' }] },
    ],
    executionStatistics: (m) => (m.name === 'm' ? execution : undefined),
    http: { port: 0 },
    grpc: false,
  });
  const { http } = await gateway.start();
  const infer = (path: string, shape: number[]): Promise<number> =>
    fetch(`${http}${path}/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape, data: new Array(shape.reduce((a, b) => a * b, 1)).fill(1) }] }) }).then(async (r) => (await r.arrayBuffer(), r.status));
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await fetch(`${http}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  try {
    const before = Date.now();
    expect(await infer('/v2/models/m', [4, 2])).toBe(200); // four items, split: inference_count 4
    expect(await infer('/v2/models/m', [1, 2])).toBe(200);
    expect(await infer('/v2/models/m/versions/1', [1, 2])).toBe(200);
    expect(await infer('/v2/models/m', [1, 3])).toBe(500); // the model failed
    expect(await infer('/v2/models/m', [2])).toBe(400); // a shape of the wrong rank

    const all = await get('/v2/models/stats');
    expect(all.status).toBe(200);
    const stats = all.body['model_stats'] as Record<string, unknown>[];
    expect(stats.map((s) => [s['name'], s['version']])).toEqual([['m', '1'], ['m', '2'], ['other', '1']]);
    const [v1, v2, other] = stats as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    expect(v1).toMatchObject({ inference_count: 1, execution_count: 0, inference_stats: { success: { count: 1 }, fail: { count: 0, ns: 0 }, queue: { count: 0, ns: 0 } }, batch_stats: [] });
    expect(v2).toMatchObject({
      inference_count: 5,
      execution_count: 3,
      inference_stats: { success: { count: 2 }, fail: { count: 2 }, queue: { count: 4, ns: 4000 }, compute_input: { count: 3, ns: 300 }, compute_infer: { count: 3, ns: 30_000 }, compute_output: { count: 3, ns: 0 }, cache_hit: { count: 0, ns: 0 }, cache_miss: { count: 0, ns: 0 } },
      batch_stats: [
        { batch_size: 1, compute_input: { count: 2, ns: 200 }, compute_infer: { count: 2, ns: 20_000 }, compute_output: { count: 2, ns: 0 } },
        { batch_size: 2, compute_input: { count: 1, ns: 100 }, compute_infer: { count: 1, ns: 10_000 }, compute_output: { count: 1, ns: 0 } },
      ],
    });
    expect((v2['last_inference'] as number) >= before && (v2['last_inference'] as number) <= Date.now()).toBe(true);
    expect(other).toMatchObject({ last_inference: 0, inference_count: 0, inference_stats: { success: { count: 0, ns: 0 } } });

    expect((await get('/v2/models/m/stats')).body['model_stats']).toEqual([v1, v2]);
    expect((await get('/v2/models/m/versions/2/stats')).body['model_stats']).toEqual([v2]);
    expect(await get('/v2/models/nope/stats')).toMatchObject({ status: 404, body: { error: expect.stringMatching(/unknown model/) } });
    expect(await get('/v2/models/m/versions/9/stats')).toMatchObject({ status: 404, body: { error: expect.stringMatching(/no version/) } });
    expect((await get('/v2')).body['extensions']).toContain('statistics');
  } finally {
    await gateway.close();
  }
});
