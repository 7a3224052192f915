import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import type { GraphBuilder } from '@epara/runtime';
import { describe, expect, it } from 'vitest';
import { servedOipGrpc } from './oip-grpc-client.js';

/*
 * `epara serve` against models whose output size a request's value sets: a response above the service's
 * `maxResponseBytes` (else `executor.maxResponseBytes`, else the gateway's `maxBodyBytes`) is refused before the
 * outputs reach the host — HTTP 500 `OUT_OF_MEMORY` without `Retry-After` (the same request gets the same outputs
 * anywhere), gRPC `RESOURCE_EXHAUSTED` — and the model serves on. One server for every case of the file.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-response-limits-'));
const write = (id: string, make: (g: GraphBuilder) => void): string => {
  const g = createGraphBuilder({ name: id, seed: 5 });
  make(g);
  const path = join(dir, `${id}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
};
const range = write('range', (g) => {
  g.input('n', 'int64', []);
  g.node('Range', [g.constant('s', 'int64', [], [0]), 'n', g.constant('d', 'int64', [], [1])], ['r']);
  g.output('r', 'int64', ['k']);
});
const zeros = write('zeros', (g) => {
  g.input('shape', 'int64', [2]);
  g.node('ConstantOfShape', ['shape'], ['y']);
  g.output('y', 'float32', ['a', 'b']);
});

type Infer = (req: object, cb: (err: (Error & { code?: number; details?: string }) | null, res: { outputs: { name: string; shape: number[] }[] }) => void) => void;
const served = servedOipGrpc<Infer>(`node: { id: limits-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { maxResponseBytes: 65536, profiling: { warmup: 0, repetitions: 1 } }
services:
  - { id: range, model: ${JSON.stringify(range)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0], maxResponseBytes: 4096 }
  - { id: zeros, model: ${JSON.stringify(zeros)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0] }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
`);

async function infer(model: string, inputs: object[]): Promise<{ status: number; retryAfter: string | null; body: { outputs?: { name: string; shape: number[] }[]; error?: string; code?: string } }> {
  const res = await fetch(`${served.serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as never };
}
const grpcInfer = (req: object): Promise<{ outputs: { name: string; shape: number[] }[] }> =>
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
