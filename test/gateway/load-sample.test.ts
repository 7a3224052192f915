import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Models that fail on the default load-time sample (zeros, every free data dimension 1) are served without a
 * `sampleDims` in the config: Silero VAD pads its audio with `reflect`, which needs more than one sample, and a
 * model dividing by an integer input fails on zeros. They used to be refused at load ("not served here").
 * Each answer is compared with raw onnxruntime-node on the same request.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint>;
}
interface Ort {
  Tensor: new (type: string, data: ArrayLike<number | bigint>, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(path: string): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
}
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

const dir = mkdtempSync(join(tmpdir(), 'epara-load-sample-'));
const divModel = join(dir, 'div.onnx');
let serve: ServeProcess;

beforeAll(async () => {
  // y = a / d over int64: onnxruntime refuses an integer division by zero, so zeros are no sample for it.
  const g = createGraphBuilder({ name: 'div', seed: 1 });
  g.input('a', 'int64', ['b', 2]);
  g.input('d', 'int64', ['b', 2]);
  g.node('Div', ['a', 'd'], ['y']);
  g.output('y', 'int64', ['b', 2]);
  writeFileSync(divModel, g.toBytes());
  const service = (id: string, model: string): string => `  - { id: ${id}, model: ${JSON.stringify(model)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 10000 }, devices: [cpu0] }`;
  serve = await startServe(`node: { id: sample-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
services:
${service('vad', models.sileroVad)}
${service('div', divModel)}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
`);
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

async function infer(model: string, inputs: object[]): Promise<{ status: number; body: { outputs?: { name: string; shape: number[]; data: number[] }[]; error?: string } }> {
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
  return { status: res.status, body: (await res.json()) as never };
}

describe('a model that fails on zeros with free dims of 1 is loaded on a sample it runs on', () => {
  it('serves Silero VAD without sampleDims, answering as onnxruntime does', async () => {
    expect((await fetch(`${serve.http}/v2/models/vad/ready`)).status).toBe(200);
    expect(serve.output()).toMatch(/service vad failed on its load-time sample \(zeros shaped input \[1,1\][^"]*profiled on input \[1,256\]/);
    const audio = Array.from({ length: 512 }, (_, i) => Math.sin(i / 5) * 0.3);
    const res = await infer('vad', [
      { name: 'input', datatype: 'FP32', shape: [1, 512], data: audio },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
      { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
    ]);
    expect(res.status).toBe(200);
    const session = await ort.InferenceSession.create(models.sileroVad);
    const want = await session.run({ input: new ort.Tensor('float32', Float32Array.from(audio), [1, 512]), state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]), sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []) });
    await session.release();
    const output = res.body.outputs!.find((o) => o.name === 'output')!;
    expect(output.shape).toEqual([...want['output']!.dims]);
    expect(output.data[0]).toBeCloseTo(Number(want['output']!.data[0]), 5);
  });

  it('serves a model that divides by an integer input, and answers a zero divisor as the model error it is', async () => {
    expect((await fetch(`${serve.http}/v2/models/div/ready`)).status).toBe(200);
    const ok = await infer('div', [
      { name: 'a', datatype: 'INT64', shape: [1, 2], data: [9, -8] },
      { name: 'd', datatype: 'INT64', shape: [1, 2], data: [2, 3] },
    ]);
    expect(ok).toMatchObject({ status: 200, body: { outputs: [{ name: 'y', shape: [1, 2], data: [4, -2] }] } });
    const zero = await infer('div', [
      { name: 'a', datatype: 'INT64', shape: [1, 2], data: [1, 2] },
      { name: 'd', datatype: 'INT64', shape: [1, 2], data: [1, 0] },
    ]);
    expect(zero).toMatchObject({ status: 500, body: { error: expect.stringMatching(/division by zero/) } });
    // The server lives on: the model error was that request's alone.
    expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(200);
  });
});
