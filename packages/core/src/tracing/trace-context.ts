/**
 * The trace context a request carries across hops: its W3C `traceparent` (and `tracestate`), and a request id
 * for logs and events. Every field is optional: a request without one is simply not correlated.
 */
export interface TraceContext {
  /** W3C `traceparent`: `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`. */
  readonly traceparent?: string;
  /** W3C `tracestate`, carried as it came (vendor data). */
  readonly tracestate?: string;
  /** An id for the request, chosen by the first hop (`x-request-id`) and kept by every later one. */
  readonly requestId?: string;
}

/** The parts of a `traceparent`. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span. */
  readonly spanId: string;
  /** Trace flags; bit 0 is `sampled`. */
  readonly flags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Parses a W3C `traceparent` header. Follows the spec's rules: version `ff` and all-zero ids are invalid; a
 * future version may carry more fields after the flags, a version `00` value may not.
 *
 * @returns the parts, or `undefined` for a malformed value (the caller then starts a new trace).
 */
export function parseTraceparent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  // Headers are almost always already canonical: try the value as it is before normalising it.
  const m = TRACEPARENT.exec(value) ?? TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

/** Formats the parts as a version-00 `traceparent`. */
export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${(p.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Keeps the well-formed fields of an untrusted trace context (headers, a peer's frame) and drops the rest, so
 * a bad value never fails a request: a malformed `traceparent` starts a new trace, an unprintable or
 * over-long request id is dropped.
 */
export function sanitizeTraceContext(value: { readonly traceparent?: unknown; readonly tracestate?: unknown; readonly requestId?: unknown } | undefined): TraceContext | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const raw = value.traceparent;
  const parent = parseTraceparent(raw);
  const requestId = typeof value.requestId === 'string' && REQUEST_ID.test(value.requestId) ? value.requestId : undefined;
  const state = typeof value.tracestate === 'string' && parent && value.tracestate.length <= 512 ? value.tracestate : undefined;
  if (!parent && requestId === undefined) return undefined;
  const out: { traceparent?: string; tracestate?: string; requestId?: string } = {};
  if (parent) out.traceparent = canonical(raw as string, parent);
  if (state !== undefined) out.tracestate = state;
  if (requestId !== undefined) out.requestId = requestId;
  return out;
}

/** The value itself when it is already a canonical version-00 traceparent (the usual case), else reformatted. */
function canonical(raw: string, p: TraceParent): string {
  return raw.length === 55 && raw.startsWith('00-') && raw.slice(3, 35) === p.traceId && raw.slice(36, 52) === p.spanId && raw === raw.toLowerCase() ? raw : formatTraceparent(p);
}
