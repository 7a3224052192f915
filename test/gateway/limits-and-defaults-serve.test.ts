import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import type { GraphBuilder } from '@epara/runtime';
import { describe, expect, it } from 'vitest';
import { servedOipGrpc } from './oip-grpc-client.js';
import { constantOfShapeModel, rangeModel } from '../fixtures/response-limit-models.js';

/*
 * `epara serve` against models whose output size a request's value sets: a response above the service's
 * `maxResponseBytes` (else `executor.maxResponseBytes`, else the gateway's `maxBodyBytes`) is refused before the
 * outputs reach the host — HTTP 500 `OUT_OF_MEMORY` without `Retry-After` (the same request gets the same outputs
 * anywhere), gRPC `RESOURCE_EXHAUSTED` — and the model serves on. And a model with an input that has a default (an
 * initializer listed as an input): a request may send it or leave it out. One server for every case of the file.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-response-limits-'));
const save = (id: string, bytes: Uint8Array): string => {
  const path = join(dir, `${id}.onnx`);
  writeFileSync(path, bytes);
  return path;
};
const write = (id: string, make: (g: GraphBuilder) => void): string => {
  const g = createGraphBuilder({ name: id, seed: 5 });
  make(g);
  return save(id, g.toBytes());
};
const range = save('range', rangeModel());
const zeros = save('zeros', constantOfShapeModel());
const withDefault = write('with_default', (g) => {
  g.input('x', 'float32', ['batch', 2]);
  g.input('bias', 'float32', [2]);
  g.constant('bias', 'float32', [2], [10, 20]);
  g.node('Add', ['x', 'bias'], ['y']);
  g.output('y', 'float32', ['batch', 2]);
});

type Infer = (req: object, cb: (err: (Error & { code?: number; details?: string }) | null, res: { outputs: { name: string; shape: number[] }[]; raw_output_contents: Buffer[] }) => void) => void;
const served = servedOipGrpc<Infer>(`node: { id: limits-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { maxResponseBytes: 65536, profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - { id: range, model: ${JSON.stringify(range)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0], maxResponseBytes: 4096 }
  - { id: zeros, model: ${JSON.stringify(zeros)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0] }
  - { id: with_default, model: ${JSON.stringify(withDefault)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0] }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
`);

async function infer(model: string, inputs: object[]): Promise<{ status: number; retryAfter: string | null; body: { outputs?: { name: string; shape: number[]; data?: number[] }[]; error?: string; code?: string } }> {
  const res = await fetch(`${served.serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as never };
}
const grpcInfer = (req: object): Promise<{ outputs: { name: string; shape: number[] }[]; raw_output_contents: Buffer[] }> =>
  new Promise((resolve, reject) => served.client['ModelInfer']!(req, (err, res) => (err ? reject(err) : resolve(res))));

describe('the response limit through epara serve', () => {
  it("refuses over HTTP a response above the service's limit, typed and not retryable, and answers the next", async () => {
    const big = await infer('range', [{ name: 'n', datatype: 'INT64', shape: [], data: [513] }]);
    expect(big.status).toBe(500);
    expect(big.body.code).toBe('OUT_OF_MEMORY');
    expect(big.body.error).toMatch(/4104 bytes.*maxResponseBytes \(4096 per request\)/);
    expect(big.retryAfter).toBeNull();
    const ok = await infer('range', [{ name: 'n', datatype: 'INT64', shape: [], data: [512] }]);
    expect(ok.status, ok.body.error).toBe(200);
    expect(ok.body.outputs).toMatchObject([{ name: 'r', shape: [512] }]);
  });

  it("refuses over gRPC with RESOURCE_EXHAUSTED; a service without a limit of its own takes executor.maxResponseBytes", async () => {
    const err = await grpcInfer({ model_name: 'zeros', inputs: [{ name: 'shape', datatype: 'INT64', shape: [2], contents: { int64_contents: [200, 200] } }] }).then(
      () => undefined,
      (e: Error & { code?: number; details?: string }) => e,
    );
    expect(err?.code).toBe(8); // RESOURCE_EXHAUSTED
    expect(err?.details).toMatch(/160000 bytes.*maxResponseBytes \(65536 per request\)/);
    const ok = await grpcInfer({ model_name: 'zeros', inputs: [{ name: 'shape', datatype: 'INT64', shape: [2], contents: { int64_contents: [128, 128] } }] });
    expect(ok.outputs).toMatchObject([{ name: 'y', shape: [128, 128] }]);
  });
});

describe('an input the model gives a default, through epara serve', () => {
  it('is listed, marked optional in the model configuration, and may be sent or left out over HTTP', async () => {
    const meta = (await (await fetch(`${served.serve.http}/v2/models/with_default`)).json()) as { inputs: { name: string; shape: number[] }[] };
    expect(meta.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      { name: 'bias', datatype: 'FP32', shape: [2] },
    ]);
    const config = (await (await fetch(`${served.serve.http}/v2/models/with_default/config`)).json()) as { input: { name: string; optional?: boolean }[] };
    expect(config.input.map((i) => [i.name, i.optional ?? false])).toEqual([
      ['x', false],
      ['bias', true],
    ]);
    const left = await infer('with_default', [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }]);
    expect(left.status, left.body.error).toBe(200);
    expect(left.body.outputs?.[0]?.data).toEqual([11, 22]);
    const sent = await infer('with_default', [
      { name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
      { name: 'bias', datatype: 'FP32', shape: [2], data: [100, 200] },
    ]);
    expect(sent.status, sent.body.error).toBe(200);
    expect(sent.body.outputs?.[0]).toMatchObject({ shape: [2, 2], data: [101, 202, 103, 204] });
    const wrong = await infer('with_default', [
      { name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
      { name: 'bias', datatype: 'FP32', shape: [3], data: [1, 2, 3] },
    ]);
    expect(wrong).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT' } });
  });

  it('may be sent over gRPC', async () => {
    const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
    const res = await grpcInfer({
      model_name: 'with_default',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 2] },
        { name: 'bias', datatype: 'FP32', shape: [2] },
      ],
      raw_input_contents: [f32([1, 2]), f32([-1, -2])],
    });
    const raw = res.raw_output_contents[0]!;
    expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))).toEqual([0, 0]);
  });
});
