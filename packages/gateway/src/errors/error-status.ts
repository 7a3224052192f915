import { isEparaError, toEparaError } from '@epara/core';
import type { EparaError, EparaErrorCode } from '@epara/core';
import { GRPC_STATUS as GrpcStatus } from '../grpc/grpc-status.js';
import type { GrpcStatusCode } from '../grpc/grpc-status.js';

/** How one EPARA error code appears to a client of the gateway. */
export interface ErrorStatus {
  /** HTTP status code. */
  readonly http: number;
  /** gRPC status code (`google.rpc.Code`: 3 `INVALID_ARGUMENT`, 14 `UNAVAILABLE`…). */
  readonly grpc: GrpcStatusCode;
  /** Whether the same request may succeed if sent again later or to another server (`Retry-After` is set). */
  readonly retryable: boolean;
}

const row = (http: number, grpc: GrpcStatusCode, retryable = false): ErrorStatus => ({ http, grpc, retryable });

/**
 * The one table mapping every `EparaErrorCode` to an HTTP status and a gRPC code (documented in
 * `docs/gateway.md`). Retryable rows carry `Retry-After` (HTTP) / `retry-after` metadata (gRPC).
 */
export const ERROR_STATUS: Readonly<Record<EparaErrorCode, ErrorStatus>> = {
  INVALID_INPUT: row(400, GrpcStatus.INVALID_ARGUMENT),
  INVALID_OPTIONS: row(400, GrpcStatus.INVALID_ARGUMENT),
  UNKNOWN_SERVICE: row(404, GrpcStatus.NOT_FOUND),
  // As Triton answers a request whose timeout cannot be kept (UNAVAILABLE, HTTP 503): the server, not the
  // request, is the problem, and another server (or this one later) may meet the same deadline.
  DEADLINE_INFEASIBLE: row(503, GrpcStatus.UNAVAILABLE, true),
  RATE_LIMITED: row(429, GrpcStatus.RESOURCE_EXHAUSTED, true),
  OVERLOADED: row(503, GrpcStatus.UNAVAILABLE, true),
  NO_INSTANCE: row(503, GrpcStatus.UNAVAILABLE, true),
  CLOSED: row(503, GrpcStatus.UNAVAILABLE, true),
  PEER_UNAVAILABLE: row(503, GrpcStatus.UNAVAILABLE, true),
  HOP_LIMIT: row(503, GrpcStatus.UNAVAILABLE, true),
  WORKER_CRASHED: row(503, GrpcStatus.UNAVAILABLE, true),
  LOAD_FAILED: row(503, GrpcStatus.UNAVAILABLE, true),
  OUT_OF_MEMORY: row(503, GrpcStatus.RESOURCE_EXHAUSTED, true),
  INFEASIBLE: row(503, GrpcStatus.UNAVAILABLE, true),
  DEADLINE_EXCEEDED: row(504, GrpcStatus.DEADLINE_EXCEEDED),
  STALE_FRAME: row(504, GrpcStatus.DEADLINE_EXCEEDED),
  ABORTED: row(499, GrpcStatus.CANCELLED),
  MODEL_ERROR: row(500, GrpcStatus.INTERNAL),
  PROTOCOL_ERROR: row(502, GrpcStatus.INTERNAL, true),
  UNAUTHENTICATED: row(502, GrpcStatus.INTERNAL, true),
  INTERNAL: row(500, GrpcStatus.INTERNAL),
};

/**
 * An `OUT_OF_MEMORY` whose outputs were larger than the service's `maxResponseBytes` (`details.reason:
 * 'response-too-large'`): the same request gets the same outputs, here or elsewhere, so it is not retryable.
 */
export const RESPONSE_TOO_LARGE: ErrorStatus = row(500, GrpcStatus.RESOURCE_EXHAUSTED);

/** Seconds a client should wait before retrying a retryable error (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 1;

/** The JSON body of an HTTP request refused because the server is closing (`503`, retryable elsewhere). */
export const CLOSING_BODY = { error: 'server is closing: send the request to another server', code: 'CLOSED' } as const;

/** The error, its status row, and a message safe to send (an untyped error is `INTERNAL` without its text). */
export function errorStatusOf(err: unknown): { readonly error: EparaError; readonly status: ErrorStatus; readonly message: string } {
  const typed = isEparaError(err);
  const error = toEparaError(err);
  const status = error.code === 'OUT_OF_MEMORY' && error.details['reason'] === 'response-too-large' ? RESPONSE_TOO_LARGE : (ERROR_STATUS[error.code] ?? ERROR_STATUS.INTERNAL);
  return { error, status, message: typed ? error.message : 'internal error' };
}
