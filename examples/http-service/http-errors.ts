import { isEparaError } from '@epara/core';

/** HTTP status for each EPARA error code a request can end with. */
const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  INVALID_OPTIONS: 400,
  UNKNOWN_SERVICE: 404,
  NO_INSTANCE: 503,
  OVERLOADED: 503,
  PEER_UNAVAILABLE: 503,
  RATE_LIMITED: 503,
  CLOSED: 503,
  HOP_LIMIT: 503,
  DEADLINE_INFEASIBLE: 504,
  DEADLINE_EXCEEDED: 504,
  ABORTED: 499,
};

/** Maps an error to `{ status, code, message }`; anything untyped is a 500 `INTERNAL`. */
export function httpError(err: unknown): { status: number; code: string; message: string } {
  if (isEparaError(err)) return { status: STATUS[err.code] ?? 500, code: err.code, message: err.message };
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}
