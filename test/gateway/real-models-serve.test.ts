import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Every real ONNX model available offline, served by `epara serve` as an operator would first try it: the file
 * and nothing else (no dims declared, so each free dimension is 1 in the default sample the executor profiles
 * with). Silero VAD's models pad their audio with `reflect`, which fails on a window of one sample: each is
 * loaded again on a longer window found by a probe, and served. A model that runs on no sample tried must be
 * left out with a message saying what to declare, while the server serves every other model.
 */

const vadDir = dirname(models.sileroVad);
const VAD_FILES = { vad: 'silero_vad.onnx', vad18: 'silero_vad_op18_ifless.onnx', vadh: 'silero_vad_half.onnx', vad15: 'silero_vad_16k_op15.onnx' } as const;
let serve: ServeProcess;

/** x f32[b, n] reshaped to [1, 7]: runs only when n is 7, which no sample tried has. */
function sevenOnly(): string {
  const g = createGraphBuilder({ name: 'seven', seed: 1 });
  g.input('x', 'float32', ['b', 'n']);
  g.constant('shape', 'int64', [2], [1, 7]);
  g.node('Reshape', ['x', 'shape'], ['y']);
  g.output('y', 'float32', [1, 7]);
  const file = join(mkdtempSync(join(tmpdir(), 'epara-seven-')), 'seven.onnx');
  writeFileSync(file, g.toBytes());
  return file;
}

beforeAll(async () => {
  const service = (id: string, file: string, extra = ''): string =>
    `  - { id: ${id}, model: ${JSON.stringify(file)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 120000 }, devices: [cpu0]${extra} }`;
  serve = await startServe(
    `node: { id: real-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${service('cls', models.ocrCls, ', inputs: { x: { dims: [1, 3, 48, 192] } }')}
${Object.entries(VAD_FILES)
  .map(([id, file]) => service(id, join(vadDir, file)))
  .join('\n')}
${service('vad_declared', join(vadDir, VAD_FILES.vad15), ', inputs: { input: { dims: [1, 512] } }')}
${service('vad_sampled', join(vadDir, VAD_FILES.vad15), ', inputs: { input: { sampleDims: [1, 512] } }')}
${service('det', models.ocrDet, ', inputs: { x: { sampleDims: [1, 3, 96, 96] } }')}
${service('seven', sevenOnly())}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: false }
`,
    240_000,
  );
}, 240_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const infer = async (model: string, inputs: object[]): Promise<{ status: number; body: { outputs?: { name: string; shape: number[]; data: number[] }[]; error?: string; code?: string } }> => {
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
  return { status: res.status, body: (await res.json()) as never };
};

describe('real models never met, served from the file alone', () => {
  it('a model that runs on no sample tried is left out with a hint, and the others are served', async () => {
    expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(200);
    const cls = await infer('cls', [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.5) }]);
    expect(cls.status, cls.body.error).toBe(200);
    expect(serve.output()).toMatch(/service seven is not served here: .*zeros shaped x \[1,1\], and on the larger or non-zero samples tried after it: declare the sizes its inputs run with, services\[\]\.inputs\.<name>\.sampleDims/);
    expect((await fetch(`${serve.http}/v2/models/seven/ready`)).status).toBe(503);
    const seven = await infer('seven', [{ name: 'x', datatype: 'FP32', shape: [1, 7], data: new Array(7).fill(1) }]);
    expect({ status: seven.status, code: seven.body.code }).toEqual({ status: 503, code: 'NO_INSTANCE' });
  });

  it('every Silero VAD file is served from the file alone, on a window its padding takes', async () => {
    for (const id of Object.keys(VAD_FILES)) {
      expect((await fetch(`${serve.http}/v2/models/${id}/ready`)).status, `${id}\n${serve.output()}`).toBe(200);
      expect(serve.output()).toMatch(new RegExp(`service ${id} failed on its load-time sample \\(zeros shaped input \\[1,1\\]`));
      const inputs = [
        { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from({ length: 512 }, (_, i) => Math.sin(i / 8) / 4) },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
        ...(id === 'vadh' ? [] : [{ name: 'sr', datatype: 'INT64', shape: [], data: [16000] }]),
      ];
      const res = await infer(id, inputs);
      expect(res.status, `${id}: ${res.body.error}`).toBe(200);
      const p = res.body.outputs!.find((o) => o.name === 'output')!.data[0]!;
      expect(p >= 0 && p <= 1, `${id}: ${p}`).toBe(true);
    }
  });

  it('the same model with its dims declared, or only its sample, is served', async () => {
    for (const id of ['vad_declared', 'vad_sampled']) {
      const res = await infer(id, [
        { name: 'input', datatype: 'FP32', shape: [1, 512], data: Array.from({ length: 512 }, (_, i) => Math.sin(i / 8) / 4) },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
        { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
      ]);
      expect(res.status, `${res.body.error}\n${serve.output()}`).toBe(200);
      const out = res.body.outputs!.find((o) => o.name === 'output')!;
      expect(out.shape).toEqual([1, 1]);
      expect(out.data[0]).toBeGreaterThanOrEqual(0);
      expect(out.data[0]).toBeLessThanOrEqual(1);
    }
    const meta = (await (await fetch(`${serve.http}/v2/models/vad_sampled`)).json()) as { inputs: { name: string; shape: number[] }[] };
    expect(meta.inputs.find((i) => i.name === 'input')!.shape).toEqual([-1, -1]);
  });

  it('a model with free image dims takes images of any size near its declared sample size', async () => {
    // PP-OCR's detector is x f32[N,3,H,W]. Profiled on a 1×3×1×1 sample, a 96×96 image was estimated 9216×
    // that cost and refused as infeasible at any deadline; sampleDims profiles it on an image of a typical size.
    const meta = (await (await fetch(`${serve.http}/v2/models/det`)).json()) as { inputs: { shape: number[] }[] };
    expect(meta.inputs[0]!.shape).toEqual([-1, 3, -1, -1]);
    for (const [h, w] of [
      [96, 96],
      [64, 128],
    ] as const) {
      const res = await infer('det', [{ name: 'x', datatype: 'FP32', shape: [1, 3, h, w], data: Array.from({ length: 3 * h * w }, (_, i) => (i % 7) / 7) }]);
      expect(res.status, res.body.error).toBe(200);
      expect(res.body.outputs![0]!.shape).toEqual([1, 1, h, w]);
    }
  });

  it('every model is described, served or not', async () => {
    for (const id of [...Object.keys(VAD_FILES), 'cls', 'vad_declared', 'vad_sampled', 'det', 'seven']) {
      const res = await fetch(`${serve.http}/v2/models/${id}`);
      expect(res.status, id).toBe(200);
      const meta = (await res.json()) as { name: string; inputs: unknown[]; outputs: unknown[] };
      expect(meta.name).toBe(id);
      expect(meta.inputs.length).toBeGreaterThan(0);
      expect(meta.outputs.length).toBeGreaterThan(0);
    }
  });
});
