import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import type { Context, SpanOptions, TracerProvider } from '@opentelemetry/api';
import { createManualClock, EparaError, silentLogger } from '@epara/core';
import type { ClusterView, LocalSubmitOptions, NamedTensors, ServerEntry, TraceContext } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { loadMeshTracing } from './mesh-tracing.js';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT: TraceContext = { traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, requestId: 'req-7' };
const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };

/** What a recording tracer saw of one span. */
interface Recorded {
  readonly name: string;
  readonly options: SpanOptions;
  readonly parentSpanId: string | undefined;
  readonly parentTraceId: string | undefined;
  readonly spanId: string;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string } | undefined;
  ended: boolean;
}

/** A tracer provider that records every span (the SDK's in-memory exporter, without the SDK). */
function recordingProvider(): { provider: TracerProvider; spans: Recorded[] } {
  const spans: Recorded[] = [];
  const tracer = {
    startSpan(name: string, options: SpanOptions = {}, ctx?: Context) {
      const parent = ctx === undefined ? undefined : trace.getSpanContext(ctx);
      const spanId = (spans.length + 1).toString(16).padStart(16, '0');
      const r: Recorded = { name, options, parentSpanId: parent?.spanId, parentTraceId: parent?.traceId, spanId, attributes: {}, status: undefined, ended: false };
      spans.push(r);
      const span = {
        spanContext: () => ({ traceId: parent?.traceId ?? TRACE, spanId, traceFlags: 1 }),
        isRecording: () => true,
        setAttribute: (k: string, v: unknown) => ((r.attributes[k] = v), span),
        setStatus: (s: { code: number; message?: string }) => ((r.status = s), span),
        end: () => void (r.ended = true),
      };
      return span;
    },
  };
  return { provider: { getTracer: () => tracer } as unknown as TracerProvider, spans };
}

const rec = recordingProvider();
beforeAll(async () => {
  await loadMeshTracing();
  trace.setGlobalTracerProvider(rec.provider);
});
afterAll(() => {
  trace.disable();
});

const peer = (id: string): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: `${id}/s`, serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5 }],
});

function setup(peers: string[], o: { down?: string[]; hosted?: boolean; tooLarge?: boolean } = {}) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const sent: { to: string; m: OffloadMessage }[] = [];
  const view: ClusterView = { entries: Object.fromEntries(peers.map((p) => [p, peer(p)])) };
  const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: o.hosted ? ['s'] : [], clock, timers });
  const submitted: LocalSubmitOptions[] = [];
  const submit = executor.submit.bind(executor);
  executor.submit = (serviceId, inputs, options = {}) => (submitted.push(options), submit(serviceId, inputs, options));
  let id = 1;
  const handler = new RequestHandler({
    selfId: 'a', clock, timers, executor, view: () => view,
    hopLimit: 2, guardMs: 1, hopDelayMs: 1, responseGraceMs: 100, nextId: () => id++,
    send: (to, m) => {
      if (o.down?.includes(to)) throw new EparaError('PEER_UNAVAILABLE', 'no link');
      if (o.tooLarge) throw new EparaError('PROTOCOL_ERROR', 'a submit frame of 70000 bytes exceeds maxFrameBytes 65536', { frameBytes: 70_000 });
      sent.push({ to, m });
      return 'L1';
    },
    logger: silentLogger,
    hooks: { offloaded: () => undefined, rejected: () => undefined, ranLocally: () => undefined, resentUnanswered: () => undefined },
  });
  return { handler, sent, submitted, timers };
}

/** The spans started by the test since `from`. */
const spansFrom = (from: number): Recorded[] => rec.spans.slice(from);

describe('RequestHandler under a recording tracer', () => {
  it('a forward is an epara.offload client span, child of the request\'s context, naming service, peer and hop; the submit carries it on', async () => {
    const { handler, sent } = setup(['b']);
    const from = rec.spans.length;
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [], trace: PARENT });
    const [span] = spansFrom(from);
    expect(span).toMatchObject({ name: 'epara.offload', options: { kind: 2, attributes: { 'epara.service': 's', 'epara.peer': 'b', 'epara.hops': 1 } }, parentTraceId: TRACE, parentSpanId: '00f067aa0ba902b7' });
    // The peer's spans become children of this one; the request id travels unchanged.
    const submit = sent[0]!.m;
    expect(submit).toMatchObject({ type: 'submit', trace: { traceparent: `00-${TRACE}-${span!.spanId}-01`, requestId: 'req-7' } });
    expect(span!.ended).toBe(false);
    handler.onResponse('b', { type: 'result', requestId: submit.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
    expect(span).toMatchObject({ ended: true, status: undefined });
  });

  it('a peer\'s error ends the span marked with the error\'s code', async () => {
    const { handler, sent } = setup(['b']);
    const from = rec.spans.length;
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [], trace: PARENT });
    handler.onResponse('b', { type: 'error', requestId: sent[0]!.m.requestId!, error: new EparaError('INTERNAL', 'model failed') });
    await expect(p).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(spansFrom(from)).toEqual([expect.objectContaining({ ended: true, status: { code: 2, message: 'INTERNAL' }, attributes: expect.objectContaining({ 'epara.error_code': 'INTERNAL' }) })]);
  });

  it('a candidate whose link refuses ends its span as PEER_UNAVAILABLE, and the next candidate gets a span of its own', async () => {
    const { handler, sent } = setup(['b', 'c'], { down: ['b'] });
    const from = rec.spans.length;
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [], trace: PARENT });
    const [refused, taken] = spansFrom(from);
    expect(refused).toMatchObject({ options: { attributes: { 'epara.peer': 'b' } }, attributes: { 'epara.error_code': 'PEER_UNAVAILABLE' }, status: { code: 2, message: 'PEER_UNAVAILABLE' }, ended: true });
    expect(taken).toMatchObject({ options: { attributes: { 'epara.peer': 'c' } }, ended: false });
    expect(sent[0]!.m).toMatchObject({ trace: { traceparent: `00-${TRACE}-${taken!.spanId}-01` } });
    handler.onResponse('c', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it('a request run here goes to the executor with its own context (the executor traces its run)', async () => {
    const { handler, submitted, timers } = setup([], { hosted: true });
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [], trace: PARENT });
    timers.advance(10);
    await expect(p).resolves.toBeDefined();
    expect(submitted).toEqual([expect.objectContaining({ trace: PARENT, deadline: 200 })]);
  });
});

describe('RequestHandler under a recording tracer: a request too large for a frame', () => {
  it('ends its one span marked with the codec\'s code, and tries no other candidate', async () => {
    const { handler } = setup(['b', 'c'], { tooLarge: true });
    const from = rec.spans.length;
    await expect(handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [], trace: PARENT })).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    expect(spansFrom(from)).toEqual([expect.objectContaining({ ended: true, status: { code: 2, message: 'PROTOCOL_ERROR' }, attributes: expect.objectContaining({ 'epara.error_code': 'PROTOCOL_ERROR' }) })]);
  });
});
