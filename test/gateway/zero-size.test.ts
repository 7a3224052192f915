import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipGrpcClient } from './oip-grpc-client.js';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Tensors with no elements (a dimension of size 0) through `epara serve` on a real onnxruntime model whose instance
 * stacks requests (its sample lets the load check it): rows of no values are answered as onnxruntime answers them
 * (each sums to 0), over JSON, the binary extension and gRPC raw contents. A request of no rows at all has no item
 * for an instance that takes one item per request: a 400 (gRPC INVALID_ARGUMENT) that says so. Before, the gateway
 * refused every empty tensor, saying EPARA runs none, which the executor does.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-zero-'));
let serve: ServeProcess;
type Unary = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: { outputs: { name: string; shape: number[] }[]; raw_output_contents: Buffer[] }) => void) => void;

beforeAll(async () => {
  // x f32[b, n] → the sum of each row, f32[b]: a zero on either dim is a tensor without elements.
  const rows = createGraphBuilder({ name: 'rows' });
  rows.input('x', 'float32', ['b', 'n']);
  rows.constant('axes', 'int64', [1], [1]);
  rows.node('ReduceSum', ['x', 'axes'], ['s'], { keepdims: 0 });
  rows.output('s', 'float32', ['b']);
  writeFileSync(join(dir, 'rows.onnx'), rows.toBytes());
  serve = await startServe(`node: { id: zero-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - { id: rows, model: ${JSON.stringify(join(dir, 'rows.onnx'))}, sensitivity: latency, slo: { kind: latency, deadlineMs: 5000 }, devices: [cpu0], inputs: { x: { sampleDims: [1, 4] } } }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
`);
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const refusal = /input 'x' dim 0 is 0, expected 1 \(one item per request/;

async function json(shape: number[], data: number[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${serve.http}/v2/models/rows/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape, data }] }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('tensors without elements (a dimension of 0): rows of no values answered, no rows refused typed, on every transport', () => {
  it('JSON: rows of no values, and no rows', async () => {
    expect(await json([3, 0], [])).toMatchObject({ status: 200, body: { outputs: [{ name: 's', shape: [3], data: [0, 0, 0] }] } });
    for (const shape of [[0, 4], [0, 0]]) {
      expect(await json(shape, [])).toEqual({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(refusal) } });
    }
    // The server goes on answering tensors with elements.
    expect(await json([2, 2], [1, 2, 3, 4])).toMatchObject({ status: 200, body: { outputs: [{ name: 's', shape: [2], data: [3, 7] }] } });
  });

  it('binary: an input of 0 bytes', async () => {
    const send = (shape: number[]): Promise<Response> => {
      const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape, parameters: { binary_data_size: 0 } }], outputs: [{ name: 's', parameters: { binary_data: true } }] }));
      return fetch(`${serve.http}/v2/models/rows/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(head.length) }, body: head });
    };
    const rows = await send([2, 0]);
    expect(rows.status).toBe(200);
    const body = Buffer.from(await rows.arrayBuffer());
    const headerLength = Number(rows.headers.get('inference-header-content-length'));
    expect(JSON.parse(body.subarray(0, headerLength).toString())).toMatchObject({ outputs: [{ name: 's', shape: [2], parameters: { binary_data_size: 8 } }] });
    expect([...new Float32Array(Uint8Array.from(body.subarray(headerLength)).buffer)]).toEqual([0, 0]);
    const none = await send([0, 4]);
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ code: 'INVALID_INPUT', error: expect.stringMatching(refusal) });
  });

  it('gRPC: empty raw_input_contents', async () => {
    const client = oipGrpcClient<Unary>(serve.grpc);
    try {
      const call = (shape: number[]): Promise<unknown> =>
        new Promise<unknown>((resolve, reject) =>
          client['ModelInfer']!.call(client, { model_name: 'rows', inputs: [{ name: 'x', datatype: 'FP32', shape }], raw_input_contents: [Buffer.alloc(0)] }, new Metadata(), { deadline: Date.now() + 30_000 }, (err, r) => (err ? reject(err) : resolve(r))),
        );
      await expect(call([2, 0])).resolves.toMatchObject({ outputs: [{ name: 's', shape: [2] }], raw_output_contents: [Buffer.from(new Float32Array(2).buffer)] });
      await expect(call([0, 4])).rejects.toMatchObject({ code: 3, details: expect.stringMatching(refusal) });
    } finally {
      client.close();
    }
  });
});
