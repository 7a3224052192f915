/*
 * One request submitted at an edge node without the service, offloaded over a real WebSocket link to the node
 * that hosts it (a real executor, fake backend), through the edge's HTTP gateway: with an OpenTelemetry SDK
 * registered, the spans of both nodes form one trace — the client's span → the gateway request → the edge's
 * offload hop → the hosting node's queue wait and device run — and the request id crosses the hop in the
 * submit frame. Without a provider, the context still travels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { affineProfile } from '@epara/core';
import { parseTraceparent } from '@epara/core/internal';
import { createExecutor, fakeModelBytes, type Executor, type RequestCompletedEvent } from '@epara/runtime';
import { createNode, createWebSocketTransport, type MeshNode } from '@epara/mesh';
import { createFakeExecutor } from '@epara/mesh/testing';
import { createGateway, oipProtoPath, type Gateway } from '@epara/gateway';
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const x = (v: number) => ({ x: { type: 'float32' as const, dims: [1, 2], data: new Float32Array([v, v]) } });

describe('trace context across an offload hop (two nodes, WebSocket)', () => {
  let executor: Executor;
  let gpu: MeshNode;
  let edge: MeshNode;
  let gateway: Gateway;
  let url: string;
  let grpcAddress: string;
  const infer = (v: number, headers: Record<string, string>) =>
    fetch(`${url}/v2/models/dbl/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [v, v] }] }) });
  const completed: RequestCompletedEvent[] = [];

  beforeAll(async () => {
    executor = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{
        id: 'dbl', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 10_000 }, devices: ['d0'], plan: { batchSize: 1 },
        model: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 2 }], fixedMs: 2 }),
        profile: affineProfile('cpu-1t', { fixedMs: 2, perItemMs: 0, maxBatch: 8 }),
      }],
      launchWhenIdle: true,
    });
    executor.on('requestCompleted', (e) => completed.push(e));
    await executor.start();
    const common = { security: { insecure: true }, syncPeriodMs: 20, placement: false } as const;
    gpu = createNode({ id: 'gpu', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor, ...common });
    await gpu.start();
    edge = createNode({ id: 'edge', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor: createFakeExecutor({ services: {} }), seeds: [gpu.address!], ...common });
    await edge.start();
    // The edge learns of gpu's instance through the ring: wait on its sync rounds, not on wall time.
    while (!edge.view().entries['gpu']?.instances.some((i) => i.serviceId === 'dbl' && i.status === 'ready')) await new Promise((r) => edge.once('syncCompleted', r));
    gateway = createGateway({ node: edge, models: [{ name: 'dbl', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { host: '127.0.0.1', port: 0 }, grpc: { host: '127.0.0.1', port: 0 } });
    const addresses = await gateway.start();
    url = addresses.http!;
    grpcAddress = addresses.grpc!;
  });

  afterAll(async () => {
    trace.disable();
    await gateway?.close();
    await edge?.close();
    await gpu?.close();
    await executor?.close();
  });

  it('carries the request id and traceparent to the executor of the other node when no tracer is registered', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await edge.submit('dbl', x(1), { trace: { traceparent, requestId: 'req-untraced' } });
    const e = completed.find((c) => c.trace?.requestId === 'req-untraced');
    expect(e).toMatchObject({ serviceId: 'dbl', outcome: 'ok', trace: { traceparent, requestId: 'req-untraced' }, deviceId: 'd0', batchSize: 1 });
    expect(e!.startedAt!).toBeGreaterThanOrEqual(e!.enqueuedAt);
    expect(e!.finishedAt).toBeGreaterThanOrEqual(e!.startedAt!);
  });

  it('takes the request id and traceparent from the client\'s headers at the gateway, and answers with them', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await infer(2, { traceparent, 'x-request-id': 'client-7' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('client-7');
    expect(res.headers.get('traceparent')).toBe(traceparent); // no tracer: the client's context passes through
    expect(completed.find((c) => c.trace?.requestId === 'client-7')?.trace?.traceparent).toBe(traceparent);
    // Without a client id the gateway makes one; a malformed traceparent is ignored, not an error.
    const bare = await infer(2, { traceparent: 'garbage' });
    expect(bare.status).toBe(200);
    expect(bare.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(bare.headers.get('traceparent')).toBeNull();
  });

  it('reads and answers the same keys as gRPC metadata', async () => {
    const def = loadSync(oipProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    type Infer = (req: unknown, md: Metadata, cb: (err: Error | null, res: unknown) => void) => { on(event: 'metadata', cb: (md: Metadata) => void): void };
    const pkg = loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & { ModelInfer: Infer } } };
    const client = new pkg.inference.GRPCInferenceService(grpcAddress, credentials.createInsecure());
    try {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
      const md = new Metadata();
      md.set('x-request-id', 'grpc-9');
      md.set('traceparent', traceparent);
      const headers = await new Promise<Metadata>((resolve, reject) => {
        let got: Metadata | undefined;
        const call = client.ModelInfer({ model_name: 'dbl', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 1] } }] }, md, (err) => (err ? reject(err) : resolve(got!)));
        call.on('metadata', (m) => (got = m));
      });
      expect(headers.get('x-request-id')).toEqual(['grpc-9']);
      expect(headers.get('traceparent')).toEqual([traceparent]);
      expect(completed.find((c) => c.trace?.requestId === 'grpc-9')?.trace?.traceparent).toBe(traceparent);
    } finally {
      client.close();
    }
  });

  it('records one trace: client span → gateway request → offload hop (edge) → queue wait and device run (gpu)', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    const root = trace.getTracer('host').startSpan('client call', {}, context.active());
    const sc = root.spanContext();
    const traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags}`;
    const res = await infer(3, { traceparent, 'x-request-id': 'req-traced' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual([6, 6]);
    root.end();
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const byName = (name: string): ReadableSpan => {
      const found = spans.filter((s) => s.name === name);
      expect(found, `${name} among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
      return found[0]!;
    };
    const front = byName('epara.gateway');
    const hop = byName('epara.offload');
    const queue = byName('epara.queue');
    const run = byName('epara.run');
    for (const s of [front, hop, queue, run]) expect(s.spanContext().traceId).toBe(sc.traceId);
    expect(front.parentSpanContext?.spanId).toBe(sc.spanId);
    expect(front.attributes).toMatchObject({ 'epara.model': 'dbl', 'epara.request_id': 'req-traced' });
    // The response names the gateway's span as the parent of what followed.
    expect(res.headers.get('traceparent')).toBe(`00-${sc.traceId}-${front.spanContext().spanId}-01`);
    expect(hop.parentSpanContext?.spanId).toBe(front.spanContext().spanId);
    expect(hop.attributes).toMatchObject({ 'epara.peer': 'gpu', 'epara.service': 'dbl', 'epara.request_id': 'req-traced' });
    // The gpu's spans are children of the hop: the context crossed the wire in the submit frame.
    expect(queue.parentSpanContext?.spanId).toBe(hop.spanContext().spanId);
    expect(run.parentSpanContext?.spanId).toBe(hop.spanContext().spanId);
    expect(run.attributes).toMatchObject({ 'epara.device': 'd0', 'epara.batch_size': 1, 'epara.request_id': 'req-traced' });
    // The hop spans the remote queue wait and run; the queue wait ends where the run starts.
    const ms = (t: [number, number]): number => t[0] * 1e3 + t[1] / 1e6;
    expect(ms(queue.endTime)).toBeCloseTo(ms(run.startTime), 3);
    expect(ms(hop.endTime)).toBeGreaterThanOrEqual(ms(run.endTime) - 1);
    // The gpu's executor saw the hop as the request's parent.
    const e = completed.find((c) => c.trace?.requestId === 'req-traced');
    expect(parseTraceparent(e?.trace?.traceparent)?.spanId).toBe(hop.spanContext().spanId);
  });
});
