import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Models whose batch axis is not dimension 0 on every tensor: Silero VAD (`state f32[2,B,128]` beside
 * `input f32[B,S]` and a scalar sample rate) and a hand-built model with the same layout. A request of B > 1
 * rows is split along each tensor's own batch axis (the executor's reading of the model), so every row answers
 * exactly as it does alone; the gateway used to split along dimension 0 only, or refuse B > 1.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-batch-axis-'));
let serve: ServeProcess;

beforeAll(async () => {
  // a f32[b,4] → a+a; s f32[2,b,3] → s*s: the batch is dimension 1 of s.
  const g = createGraphBuilder({ name: 'axis1', seed: 5 });
  g.input('a', 'float32', ['b', 4]);
  g.input('s', 'float32', [2, 'b', 3]);
  g.node('Add', ['a', 'a'], ['a2']);
  g.node('Mul', ['s', 's'], ['s2']);
  g.output('a2', 'float32', ['b', 4]);
  g.output('s2', 'float32', [2, 'b', 3]);
  writeFileSync(join(dir, 'axis1.onnx'), g.toBytes());
  const service = (id: string, file: string, extra: string): string =>
    `  - { id: ${id}, model: ${JSON.stringify(file)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 5000 }, devices: [cpu0]${extra} }`;
  serve = await startServe(
    `node: { id: axis-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${service('vad', models.sileroVad, ', inputs: { input: { dims: [1, 512] } }')}
${service('axis1', join(dir, 'axis1.onnx'), '')}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: false }
`,
    120_000,
  );
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

type Out = { name: string; shape: number[]; data: number[] };
async function infer(model: string, inputs: object[]): Promise<{ status: number; outputs: Map<string, Out>; error?: string }> {
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
  const body = (await res.json()) as { outputs?: Out[]; error?: string };
  return { status: res.status, outputs: new Map((body.outputs ?? []).map((o) => [o.name, o])), ...(body.error ? { error: body.error } : {}) };
}

/** Rows `b` of a row-major tensor of `shape`, taken along `axis`. */
function row(data: readonly number[], shape: readonly number[], axis: number, b: number): number[] {
  const inner = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const outer = shape.slice(0, axis).reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) out.push(...data.slice((o * shape[axis]! + b) * inner, (o * shape[axis]! + b + 1) * inner));
  return out;
}

const f32 = (name: string, shape: number[], data: number[]) => ({ name, datatype: 'FP32', shape, data });
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 7.1 + i * 0.37) * 0.5));

describe('a batch axis that is not dimension 0', () => {
  it('answers each row of a two-row request on axis 1 as it answers that row alone', async () => {
    for (const B of [2, 3]) {
      const a = values(B * 4, 1);
      const s = values(2 * B * 3, 2);
      const both = await infer('axis1', [f32('a', [B, 4], a), f32('s', [2, B, 3], s)]);
      expect(both.error).toBeUndefined();
      expect(both.status).toBe(200);
      expect(both.outputs.get('s2')!.shape).toEqual([2, B, 3]);
      for (let b = 0; b < B; b++) {
        const one = await infer('axis1', [f32('a', [1, 4], row(a, [B, 4], 0, b)), f32('s', [2, 1, 3], row(s, [2, B, 3], 1, b))]);
        expect(one.status).toBe(200);
        expect(row(both.outputs.get('a2')!.data, [B, 4], 0, b)).toEqual(one.outputs.get('a2')!.data);
        expect(row(both.outputs.get('s2')!.data, [2, B, 3], 1, b)).toEqual(one.outputs.get('s2')!.data);
      }
    }
  });

  it('runs Silero VAD on two audio streams in one request (state [2,B,128], scalar sample rate)', async () => {
    const S = 512;
    const B = 2;
    const audio = values(B * S, 3);
    const state = values(2 * B * 128, 4).map((v) => v * 0.1);
    const sr = { name: 'sr', datatype: 'INT64', shape: [], data: [16000] };
    const both = await infer('vad', [f32('input', [B, S], audio), f32('state', [2, B, 128], state), sr]);
    expect(both.error).toBeUndefined();
    expect(both.status).toBe(200);
    expect(both.outputs.get('output')!.shape).toEqual([B, 1]);
    expect(both.outputs.get('stateN')!.shape).toEqual([2, B, 128]);
    for (let b = 0; b < B; b++) {
      const one = await infer('vad', [f32('input', [1, S], row(audio, [B, S], 0, b)), f32('state', [2, 1, 128], row(state, [2, B, 128], 1, b)), sr]);
      expect(one.status).toBe(200);
      const close = (x: number[], y: number[]): void => x.forEach((v, i) => expect(Math.abs(v - y[i]!)).toBeLessThan(1e-5));
      close(row(both.outputs.get('output')!.data, [B, 1], 0, b), one.outputs.get('output')!.data);
      close(row(both.outputs.get('stateN')!.data, [2, B, 128], 1, b), one.outputs.get('stateN')!.data);
    }
  });
});
