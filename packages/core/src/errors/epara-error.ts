/**
 * Every error code EPARA raises. The table with meanings lives in `docs/errors.md`; codes survive the wire.
 *
 * | code | meaning |
 * |---|---|
 * | `INVALID_OPTIONS` | an options object or argument failed validation; `details.field` names it |
 * | `INVALID_INPUT` | a request's inputs (tensor names, dtypes, shapes) do not match the service |
 * | `UNKNOWN_SERVICE` | no service with that id is known here |
 * | `DEADLINE_INFEASIBLE` | the request cannot finish before its deadline anywhere reachable |
 * | `DEADLINE_EXCEEDED` | the deadline passed while the request waited; it was dropped before running |
 * | `NO_INSTANCE` | no ready instance of the service exists (locally or in the view) |
 * | `OVERLOADED` | instances exist but none has room (queue or rate capacity) |
 * | `ABORTED` | the caller's AbortSignal fired |
 * | `CLOSED` | the executor, node or transport is closed or closing |
 * | `MODEL_ERROR` | the model failed while running the batch that held this request |
 * | `WORKER_CRASHED` | the device worker died with the request in flight |
 * | `OUT_OF_MEMORY` | loading would over-commit a device's memory |
 * | `LOAD_FAILED` | a model could not be loaded |
 * | `STALE_FRAME` | a stream frame was dropped because it could no longer meet its staleness limit |
 * | `PEER_UNAVAILABLE` | the peer a request was sent to failed or disconnected |
 * | `PROTOCOL_ERROR` | a malformed, oversized or unknown-version frame |
 * | `UNAUTHENTICATED` | a peer failed authentication |
 * | `RATE_LIMITED` | a peer exceeded its frame rate or size limits |
 * | `HOP_LIMIT` | a forwarded request ran out of hops |
 * | `INFEASIBLE` | an allocation or placement has no feasible answer |
 * | `INTERNAL` | a bug: please report it |
 */
export type EparaErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_INPUT'
  | 'UNKNOWN_SERVICE'
  | 'DEADLINE_INFEASIBLE'
  | 'DEADLINE_EXCEEDED'
  | 'NO_INSTANCE'
  | 'OVERLOADED'
  | 'ABORTED'
  | 'CLOSED'
  | 'MODEL_ERROR'
  | 'WORKER_CRASHED'
  | 'OUT_OF_MEMORY'
  | 'LOAD_FAILED'
  | 'STALE_FRAME'
  | 'PEER_UNAVAILABLE'
  | 'PROTOCOL_ERROR'
  | 'UNAUTHENTICATED'
  | 'RATE_LIMITED'
  | 'HOP_LIMIT'
  | 'INFEASIBLE'
  | 'INTERNAL';

/** All codes, for validation of codes that arrive over the wire. */
export const EPARA_ERROR_CODES: readonly EparaErrorCode[] = [
  'INVALID_OPTIONS',
  'INVALID_INPUT',
  'UNKNOWN_SERVICE',
  'DEADLINE_INFEASIBLE',
  'DEADLINE_EXCEEDED',
  'NO_INSTANCE',
  'OVERLOADED',
  'ABORTED',
  'CLOSED',
  'MODEL_ERROR',
  'WORKER_CRASHED',
  'OUT_OF_MEMORY',
  'LOAD_FAILED',
  'STALE_FRAME',
  'PEER_UNAVAILABLE',
  'PROTOCOL_ERROR',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'HOP_LIMIT',
  'INFEASIBLE',
  'INTERNAL',
];

const BRAND = Symbol.for('epara.error');

/** Structured, JSON-safe context attached to an error (field names, values, server ids…). */
export type EparaErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The one error class of EPARA. Match on `code`, never on `message`.
 *
 * @example
 * ```ts
 * try { await executor.submit('seg', inputs, { deadline }); }
 * catch (err) { if (isEparaError(err) && err.code === 'DEADLINE_INFEASIBLE') retryLater(); }
 * ```
 */
export class EparaError extends Error {
  /** Machine-readable reason. */
  readonly code: EparaErrorCode;
  /** Structured context; safe to serialize. */
  readonly details: EparaErrorDetails;

  constructor(code: EparaErrorCode, message: string, details: EparaErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EparaError';
    this.code = code;
    this.details = details;
    Object.defineProperty(this, BRAND, { value: true });
    settleStack(this);
    if (options?.cause instanceof Error) settleStack(options.cause);
  }

  /** A JSON-safe form that keeps the code across the wire; see {@link eparaErrorFromJSON}. */
  toJSON(): { name: 'EparaError'; code: EparaErrorCode; message: string; details: EparaErrorDetails } {
    return { name: 'EparaError', code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Formats an error's stack trace now instead of on first read. V8 captures the trace lazily, keeping every
 * frame's function (and with it the closure that held the request's inputs) alive until `stack` is read:
 * a host that stores or queues rejections without reading their stacks would otherwise keep every rejected
 * request's input buffers. Formatting costs a few microseconds, paid only when an error is created.
 */
function settleStack(err: Error): void {
  // Reading the accessor formats the trace and drops the captured frames; a non-standard `stack` is left alone.
  void err.stack;
}

/**
 * True for an {@link EparaError}, even one created by another installed copy of `@epara/core`
 * (the check uses a global symbol, not `instanceof`).
 */
export function isEparaError(value: unknown): value is EparaError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** True when `code` is one of {@link EPARA_ERROR_CODES}. */
export function isEparaErrorCode(code: unknown): code is EparaErrorCode {
  return typeof code === 'string' && (EPARA_ERROR_CODES as readonly string[]).includes(code);
}

/** Rebuilds an error sent as {@link EparaError.toJSON}; an unknown code becomes `INTERNAL`. */
export function eparaErrorFromJSON(value: unknown): EparaError {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const code = isEparaErrorCode(v['code']) ? v['code'] : 'INTERNAL';
  const message = typeof v['message'] === 'string' ? v['message'] : 'remote error';
  const details = typeof v['details'] === 'object' && v['details'] !== null ? (v['details'] as EparaErrorDetails) : {};
  return new EparaError(code, message, details);
}

/** Wraps anything thrown into an {@link EparaError} (returns it unchanged when it already is one). */
export function toEparaError(err: unknown, fallback: EparaErrorCode = 'INTERNAL'): EparaError {
  if (isEparaError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EparaError(fallback, message, {}, { cause: err });
}

/** Throws `INVALID_OPTIONS` quoting the field, the value and what was expected (p-queue style). */
export function invalidOption(field: string, value: unknown, expected: string): never {
  throw new EparaError(
    'INVALID_OPTIONS',
    `Expected \`${field}\` to be ${expected}, got \`${describe(value)}\` (${value === null ? 'null' : typeof value})`,
    { field, value: describe(value), expected },
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
