import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import type { Context, SpanOptions, TracerProvider } from '@opentelemetry/api';
import { EparaError } from '@epara/core';
import type { LocalSubmitOptions, TraceContext } from '@epara/core';
import { loadMeshTracing } from './mesh-tracing.js';
import { handlerFixture, peerEntry, x } from './request-handler-fixture.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT: TraceContext = { traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, requestId: 'req-7' };

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

function setup(peers: string[], o: { down?: string[]; hosted?: boolean; tooLarge?: boolean } = {}) {
  const f = handlerFixture({
    entries: Object.fromEntries(peers.map((p) => [p, peerEntry(p)])),
    hosted: o.hosted === true,
    config: { guardMs: 1 },
    refuse: (to) => {
      if (o.down?.includes(to)) return new EparaError('PEER_UNAVAILABLE', 'no link');
      if (o.tooLarge) return new EparaError('PROTOCOL_ERROR', 'a submit frame of 70000 bytes exceeds maxFrameBytes 65536', { frameBytes: 70_000 });
      return undefined;
    },
  });
  const submitted: LocalSubmitOptions[] = [];
  const submit = f.executor.submit.bind(f.executor);
  f.executor.submit = (serviceId, inputs, options = {}) => (submitted.push(options), submit(serviceId, inputs, options));
  return { handler: f.handler, sent: f.sent, submitted, timers: f.timers };
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
