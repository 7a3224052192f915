import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'epara-probe-'));
let serve: ServeProcess;
beforeAll(async () => {
  const g = createGraphBuilder({ name: 'ax1' });
  g.input('x', 'float32', [3, 'N']);
  g.node('Add', ['x', 'x'], ['y']);
  g.output('y', 'float32', [3, 'N']);
  writeFileSync(join(dir, 'ax1.onnx'), g.toBytes());
  const svc = (id: string, file: string, extra = '') => `  - { id: ${id}, model: ${JSON.stringify(file)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 5000 }, devices: [cpu0]${extra} }`;
  serve = await startServe(`node: { id: p1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
services:
${svc('vad', models.sileroVad, ', inputs: { input: { dims: [1, 512] } }')}
${svc('ax1', join(dir, 'ax1.onnx'), ', inputs: { x: { batchAxis: 1 } }')}
${svc('ax1plain', join(dir, 'ax1.onnx'))}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
`, 120_000);
}, 120_000);
afterAll(async () => { serve?.child.kill('SIGTERM'); await serve?.exited; });

async function post(model: string, body: object): Promise<void> {
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) });
  console.log(model, res.status, (await res.text()).slice(0, 400));
}
it('probe', async () => {
  for (const m of ['vad', 'ax1', 'ax1plain']) console.log(m, await (await fetch(`${serve.http}/v2/models/${m}`)).text());
  const S = 512;
  for (const B of [1, 2]) {
    await post('vad', { inputs: [
      { name: 'input', datatype: 'FP32', shape: [B, S], data: new Array(B * S).fill(0.1) },
      { name: 'state', datatype: 'FP32', shape: [2, B, 128], data: new Array(2 * B * 128).fill(0) },
      { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
    ], outputs: [{ name: 'output' }] });
  }
  for (const m of ['ax1', 'ax1plain']) for (const N of [1, 2]) await post(m, { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, N], data: Array.from({ length: 3 * N }, (_, i) => i) }] });
  console.log(serve.output().slice(-3000));
}, 60_000);
