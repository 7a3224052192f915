import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

// A model onnxruntime refuses to load: ReduceSum took its axes as an attribute before opset 13, and this one
// declares opset 13. `epara serve` logs it as not served and serves the rest — here there is no rest.
function brokenModel(dir: string): string {
  const g = createGraphBuilder({ name: 'broken' });
  g.input('x', 'float32', ['b', 3]);
  g.node('ReduceSum', ['x'], ['y'], { axes: [1], keepdims: 0 });
  g.output('y', 'float32', ['b']);
  const file = join(dir, 'broken.onnx');
  writeFileSync(file, encodeModel(g.toModel()));
  return file;
}

let serve: ServeProcess;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-ready-'));
  serve = await startServe(`node: { id: nothing-served, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - { id: broken, model: ${JSON.stringify(brokenModel(dir))}, sensitivity: latency, slo: { kind: latency, deadlineMs: 1000 }, devices: [cpu0] }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
log: { level: error }
`);
  await serve.untilOutput('service broken is not served here');
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe('a server none of whose models loaded', () => {
  it('is live but not ready: a load balancer must not send it requests it can only refuse', async () => {
    expect(serve.output()).toMatch(/service broken is not served here/);
    expect((await fetch(`${serve.http}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${serve.http}/v2/models/broken/ready`)).status).toBe(503);
    expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(503);
  });
});
