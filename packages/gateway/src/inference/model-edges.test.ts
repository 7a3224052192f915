import { EparaError } from '@epara/core';
import type { ClusterView, NamedTensors } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { errorStatusOf } from '../errors/error-status.js';
import { resolveGatewayOptions } from '../gateway-options.js';
import type { GatewayModel, GatewayOptions } from '../gateway-options.js';
import type { InferRequest } from '../protocol/infer-types.js';
import { InferCore } from './infer-core.js';

/*
 * What a request meets at the edges of a model's signature and of the protocol: a model that cannot be served
 * here, an input of open rank, a batch over the limit, a deadline the node cannot meet (from a parameter or from
 * the gRPC call itself), and Triton's priority.
 */

type Submit = GatewayOptions['node']['submit'];
const echo: Submit = (_s, inputs: NamedTensors) => Promise.resolve({ y: inputs['x']! });

function core(model: Partial<GatewayModel> = {}, o: { submit?: Submit; maxBatchItems?: number } = {}): InferCore {
  return new InferCore(
    resolveGatewayOptions({
      node: { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: o.submit ?? echo },
      models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }], ...model }],
      http: false,
      grpc: false,
      ...(o.maxBatchItems !== undefined ? { maxBatchItems: o.maxBatchItems } : {}),
    }),
  );
}

const request = (rows: number, extra: Partial<InferRequest> = {}): InferRequest => ({
  model: 'm',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 2], data: Array.from({ length: rows * 2 }, (_, i) => i) }],
  ...extra,
});

describe('model edges', () => {
  it('a model marked unavailable is never ready and answers LOAD_FAILED with the reason, before reading inputs', async () => {
    const c = core({ unavailable: 'model m cannot be served: tensor s is bfloat16' });
    expect(c.modelReady(c.model('m'))).toBe(false);
    const err = await c.infer({ model: 'm', inputs: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LOAD_FAILED', message: 'model m cannot be served: tensor s is bfloat16' });
    expect(errorStatusOf(err).status).toMatchObject({ http: 503, grpc: 14 });
  });

  it('an input of open rank takes any shape, and its requests are sent whole', async () => {
    const seen: (readonly number[])[] = [];
    const c = core({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], anyRank: true }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] }, {
      submit: (_s, inputs) => (seen.push(inputs['x']!.dims), Promise.resolve({ y: inputs['x']! })),
    });
    for (const shape of [[3, 2], [4], [1, 2, 2]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const res = await c.infer({ model: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape, data: Array.from({ length: n }, (_, i) => i) }] });
      expect(res.outputs[0]!.shape).toEqual(shape);
    }
    // Sent whole: dimension 0 of an input of open rank is not known to be a batch.
    expect(seen).toEqual([[3, 2], [4], [1, 2, 2]]);
    // The rank is still checked for inputs whose rank is known.
    await expect(core().infer({ model: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('refuses a batch over maxBatchItems before submitting anything, and serves one at the limit', async () => {
    let submits = 0;
    const c = core({}, { maxBatchItems: 4, submit: (s, inputs, o) => (submits++, echo(s, inputs, o)) });
    await expect(c.infer(request(5))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/batch of 5 items; model m takes at most 4/), details: { items: 5, limit: 4 } });
    expect(submits).toBe(0);
    expect((await c.infer(request(4))).outputs[0]!.shape).toEqual([4, 2]);
    expect(submits).toBe(4);
    expect(() => resolveGatewayOptions({ node: { id: 'n', view: () => ({}) as ClusterView, submit: echo }, models: [], maxBatchItems: 0 })).toThrow(/maxBatchItems/);
  });

  it('a gRPC call deadline the node cannot meet is DEADLINE_EXCEEDED; a deadline parameter stays DEADLINE_INFEASIBLE (503, retryable)', async () => {
    const infeasible: Submit = () => Promise.reject(new EparaError('DEADLINE_INFEASIBLE', 'no instance can finish in time', { retryable: true }));
    const c = core({}, { submit: infeasible });
    const viaCall = await c.infer(request(1), { transportDeadline: 5 }).catch((e: unknown) => e);
    expect(viaCall).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: expect.stringMatching(/the call's deadline cannot be met/) });
    expect(errorStatusOf(viaCall).status).toMatchObject({ grpc: 4, retryable: false });
    const viaParameter = await c.infer(request(1, { parameters: { epara_deadline_ms: 5 } }), { transportDeadline: 5 }).catch((e: unknown) => e);
    expect(viaParameter).toMatchObject({ code: 'DEADLINE_INFEASIBLE' });
    expect(errorStatusOf(viaParameter).status).toEqual({ http: 503, grpc: 14, retryable: true });
  });

  it("accepts Triton's priority (a non-negative integer) and leaves EPARA's priority as it was", async () => {
    const priorities: (number | undefined)[] = [];
    const c = core({}, { submit: (s, inputs, o) => (priorities.push(o?.priority), echo(s, inputs, o)) });
    await c.infer(request(1, { parameters: { priority: 1 } }));
    await c.infer(request(1, { parameters: { priority: 0, epara_priority: 3 } }));
    expect(priorities).toEqual([undefined, 3]);
    for (const priority of [-1, 1.5, 'high']) {
      await expect(c.infer(request(1, { parameters: { priority } })), String(priority)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/priority must be a non-negative integer/) });
    }
  });
});
