/**
 * The part of `@opentelemetry/api` EPARA uses, as structural types, so the published `.d.ts` files stand alone
 * when the optional peer is not installed. The module itself (`import('@opentelemetry/api')`) fits.
 */
export interface OtelApi {
  readonly trace: {
    getTracer(name: string, version?: string): OtelTracer;
    getTracerProvider(): { getTracer(name: string, version?: string): OtelTracer };
    setSpanContext(context: unknown, spanContext: OtelSpanContext): unknown;
  };
  readonly context: { active(): unknown };
  readonly ROOT_CONTEXT: unknown;
}

/** An OpenTelemetry span context (`SpanContext`). */
export interface OtelSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
}

/** An OpenTelemetry tracer (`Tracer`), as far as EPARA calls it. */
export interface OtelTracer {
  startSpan(
    name: string,
    options?: { kind?: number; startTime?: number; attributes?: Record<string, string | number | boolean> },
    context?: unknown,
  ): OtelSpan;
}

/** An OpenTelemetry span (`Span`), as far as EPARA calls it. */
export interface OtelSpan {
  spanContext(): OtelSpanContext;
  isRecording(): boolean;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: number): void;
}

/**
 * Loads `@opentelemetry/api` if the host installed it. Never throws: without the module tracing is off.
 *
 * @param importModule the calling package's own `import`, so the optional peer resolves from where it is declared.
 */
export async function loadOtelApi(importModule: (name: string) => Promise<unknown>): Promise<OtelApi | undefined> {
  // A variable specifier keeps bundlers from inlining the optional peer.
  const name = '@opentelemetry/api';
  try {
    const mod = (await importModule(name)) as Partial<OtelApi> & { default?: Partial<OtelApi> };
    const api = typeof mod.trace?.getTracerProvider === 'function' ? mod : mod.default;
    return typeof api?.trace?.getTracerProvider === 'function' && api.context !== undefined ? (api as OtelApi) : undefined;
  } catch {
    return undefined;
  }
}
