import type { ClusterView, NamedTensors } from '@epara/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';

/*
 * Triton's model versions are integers (`/versions/{v}` matches digits, read as an int64): `/versions/01` is version 1.
 * The gateway compared version strings, so a client that wrote the number with a leading zero got a 404 for a
 * version the model has. A version of digits now names the declared version of the same number, and the answer and
 * the statistics carry the version as declared; anything else is still compared as written.
 */

let gateway: Gateway;
let base: string;
beforeAll(async () => {
  const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: async (_s: string, inputs: NamedTensors): Promise<NamedTensors> => ({ y: inputs['x']! }) };
  gateway = createGateway({
    node,
    models: [
      { name: 'm', versions: ['1', '12'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] },
      { name: 'named', versions: ['v1'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] },
    ],
    http: { host: '127.0.0.1', port: 0 },
    grpc: false,
  });
  base = (await gateway.start()).http!;
});
afterAll(() => gateway?.close());

const infer = (path: string): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }) });

describe('a model version written as a number', () => {
  it('names the declared version of the same number, with leading zeros', async () => {
    const meta = await fetch(`${base}/v2/models/m/versions/012`);
    expect(meta.status).toBe(200);
    const answer = await infer('/v2/models/m/versions/0001/infer');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ model_name: 'm', model_version: '1' });
    const stats = (await (await fetch(`${base}/v2/models/m/versions/01/stats`)).json()) as { model_stats: { version: string; inference_count: number }[] };
    expect(stats.model_stats).toEqual([expect.objectContaining({ version: '1', inference_count: 1 })]);
  });

  it('is still a 404 for a number the model does not have, or a version that is not the same text or number', async () => {
    for (const path of ['/v2/models/m/versions/2', '/v2/models/m/versions/1.0', '/v2/models/m/versions/+1', '/v2/models/named/versions/01', '/v2/models/named/versions/V1']) {
      expect([path, (await fetch(`${base}${path}`)).status]).toEqual([path, 404]);
    }
    expect((await fetch(`${base}/v2/models/named/versions/v1`)).status).toBe(200);
  });
});
