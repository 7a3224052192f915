import { describe, expect, it, vi } from 'vitest';
import { createLazyTracing } from './lazy-tracing.js';
import { loadOtelApi } from './otel-port.js';
import type { OtelApi, OtelSpan, OtelSpanContext, OtelTracer } from './otel-port.js';
import { createTracing, NO_TRACING } from './tracing.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const PARENT = `00-${TRACE}-${SPAN}-01`;

/** A span that records every call made on it. */
class FakeSpan implements OtelSpan {
  readonly calls: unknown[][] = [];
  constructor(
    readonly context: OtelSpanContext,
    readonly recording: boolean,
  ) {}
  spanContext(): OtelSpanContext {
    return this.context;
  }
  isRecording(): boolean {
    return this.recording;
  }
  setAttribute(key: string, value: string | number | boolean): void {
    this.calls.push(['setAttribute', key, value]);
  }
  setStatus(status: { code: number; message?: string }): void {
    this.calls.push(['setStatus', status]);
  }
  end(endTime?: number): void {
    this.calls.push(['end', endTime]);
  }
}

/** An OpenTelemetry API stand-in: contexts are plain tags, the provider can be swapped like a host does. */
function fakeApi(o: { recording?: boolean } = {}) {
  const started: { name: string; options: unknown; ctx: unknown; span: FakeSpan }[] = [];
  const tracers: string[] = [];
  const tracer: OtelTracer = {
    startSpan(name, options, ctx) {
      const span = new FakeSpan({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }, o.recording ?? true);
      started.push({ name, options, ctx, span });
      return span;
    },
  };
  const provider = () => ({
    getTracer: (scope: string) => {
      tracers.push(scope);
      return tracer;
    },
  });
  let current = provider();
  const api: OtelApi = {
    trace: {
      getTracer: () => tracer,
      getTracerProvider: () => current,
      setSpanContext: (context, spanContext) => ({ context, spanContext }),
    },
    context: { active: () => 'ACTIVE' },
    ROOT_CONTEXT: 'ROOT',
  };
  return { api, started, tracers, swapProvider: () => void (current = provider()) };
}

describe('createTracing', () => {
  it('is NO_TRACING without an API module: disabled, and starts nothing', () => {
    const t = createTracing(undefined, '@epara/x');
    expect(t).toBe(NO_TRACING);
    expect(t.enabled).toBe(false);
    expect(t.start('s')).toBeUndefined();
  });

  it('starts an internal span in the active context by default, with no start time or attributes', () => {
    const { api, started, tracers } = fakeApi();
    const t = createTracing(api, '@epara/x');
    expect(t.enabled).toBe(true);
    const span = t.start('epara.run');
    expect(span).toBeDefined();
    expect(tracers).toEqual(['@epara/x']);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ name: 'epara.run', ctx: 'ACTIVE' });
    expect(started[0]!.options).toStrictEqual({ kind: 0 });
  });

  it('maps each span kind to its OpenTelemetry number and passes start time and a copy of the attributes', () => {
    const { api, started } = fakeApi();
    const t = createTracing(api, 's');
    const attributes = { 'epara.service': 'm', n: 2, ok: true };
    t.start('a', { kind: 'server', startTime: 0, attributes });
    t.start('b', { kind: 'client' });
    t.start('c', { kind: 'consumer' });
    t.start('d', { kind: 'internal' });
    expect(started.map((s) => (s.options as { kind: number }).kind)).toEqual([1, 2, 4, 0]);
    expect(started[0]!.options).toEqual({ kind: 1, startTime: 0, attributes });
    expect((started[0]!.options as { attributes: unknown }).attributes).not.toBe(attributes);
  });

  it('makes a span the child of a valid traceparent (a remote parent in the root context), else of the active context', () => {
    const { api, started } = fakeApi();
    const t = createTracing(api, 's');
    t.start('child', { parent: { traceparent: PARENT } });
    expect(started[0]!.ctx).toEqual({ context: 'ROOT', spanContext: { traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true } });
    t.start('orphan', { parent: { traceparent: 'garbage' } });
    expect(started[1]!.ctx).toBe('ACTIVE');
  });

  it('tags the span with the request id when the context has one', () => {
    const { api, started } = fakeApi();
    const t = createTracing(api, 's');
    t.start('with', { parent: { requestId: 'r-1' } });
    t.start('without', { parent: { traceparent: PARENT } });
    expect(started[0]!.span.calls).toEqual([['setAttribute', 'epara.request_id', 'r-1']]);
    expect(started[1]!.span.calls).toEqual([]);
  });

  it('returns undefined for a span nothing records', () => {
    const { api } = fakeApi({ recording: false });
    expect(createTracing(api, 's').start('x', { parent: { requestId: 'r' } })).toBeUndefined();
  });

  it("hands on the parent's context with the span as its traceparent", () => {
    const { api } = fakeApi();
    const span = createTracing(api, 's').start('x', { parent: { traceparent: PARENT, tracestate: 'k=v', requestId: 'r-2' } })!;
    expect(span.context).toEqual({ traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 'k=v', requestId: 'r-2' });
  });

  it('ends a span plainly, or as failed with the error code as attribute and status', () => {
    const { api, started } = fakeApi();
    const t = createTracing(api, 's');
    const ok = t.start('ok')!;
    ok.setAttribute('epara.batch', 4);
    ok.end();
    expect(started[0]!.span.calls).toEqual([['setAttribute', 'epara.batch', 4], ['end', undefined]]);
    t.start('bad')!.end({ error: 'PEER_UNAVAILABLE', endTime: 42 });
    expect(started[1]!.span.calls).toEqual([['setAttribute', 'epara.error_code', 'PEER_UNAVAILABLE'], ['setStatus', { code: 2, message: 'PEER_UNAVAILABLE' }], ['end', 42]]);
  });

  it('asks the provider for its tracer once, and again when the host registers another provider', () => {
    const { api, tracers, swapProvider } = fakeApi();
    const t = createTracing(api, 'scope');
    t.start('1');
    t.start('2');
    expect(tracers).toEqual(['scope']);
    swapProvider();
    t.start('3');
    t.start('4');
    expect(tracers).toEqual(['scope', 'scope']);
  });
});

describe('loadOtelApi', () => {
  const { api } = fakeApi();

  it('imports @opentelemetry/api by name and takes the module or its default export', async () => {
    const importModule = vi.fn((_: string) => Promise.resolve(api));
    await expect(loadOtelApi(importModule)).resolves.toBe(api);
    expect(importModule).toHaveBeenCalledWith('@opentelemetry/api');
    await expect(loadOtelApi(() => Promise.resolve({ default: api }))).resolves.toBe(api);
  });

  it('is undefined, never a throw, when the module is missing or not the API', async () => {
    await expect(loadOtelApi(() => Promise.reject(new Error('Cannot find module')))).resolves.toBeUndefined();
    await expect(loadOtelApi(() => Promise.resolve({}))).resolves.toBeUndefined();
    await expect(loadOtelApi(() => Promise.resolve({ trace: { getTracerProvider: 1 }, context: {} }))).resolves.toBeUndefined();
    await expect(loadOtelApi(() => Promise.resolve({ trace: api.trace }))).resolves.toBeUndefined();
    await expect(loadOtelApi(() => Promise.resolve({ default: { trace: api.trace } }))).resolves.toBeUndefined();
  });
});

describe('createLazyTracing', () => {
  it('is off until loaded, loads once, then traces under the package name', async () => {
    const { api, tracers } = fakeApi();
    const importModule = vi.fn((_: string) => Promise.resolve(api));
    const lazy = createLazyTracing('@epara/mesh', importModule);
    expect(lazy.current()).toBe(NO_TRACING);
    const first = lazy.load();
    expect(lazy.load()).toBe(first);
    const tracing = await first;
    expect(importModule).toHaveBeenCalledTimes(1);
    expect(lazy.current()).toBe(tracing);
    expect(tracing.enabled).toBe(true);
    tracing.start('x');
    expect(tracers).toEqual(['@epara/mesh']);
  });

  it('stays off for good without the API module', async () => {
    const lazy = createLazyTracing('@epara/mesh', () => Promise.reject(new Error('missing')));
    expect((await lazy.load()).enabled).toBe(false);
    expect(lazy.current().enabled).toBe(false);
  });
});
