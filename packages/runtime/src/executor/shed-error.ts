import { EparaError, type EparaErrorDetails } from '@epara/core';

/** The codes the schedulers settle a shed (not failed) request with. */
export type ShedCode = 'DEADLINE_EXCEEDED' | 'OVERLOADED' | 'STALE_FRAME';

/**
 * An {@link EparaError} for a request the host sheds (dropped before running, or refused at admission),
 * created without stack frames. Shedding is a scheduling outcome, not a fault: its trace would only name
 * the scheduler's own functions. It is also the hot path under overload — thousands of rejections a second —
 * and an `EparaError` formats its trace when created (so that it never keeps the request's inputs alive),
 * which costs ~0.1 ms per error with ten frames, far more with source maps on (`tsx`,
 * `--enable-source-maps`); an empty trace costs a few microseconds. The code, message and details are those
 * of any other `EparaError`.
 */
export function shedError(code: ShedCode, message: string, details: EparaErrorDetails): EparaError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new EparaError(code, message, details);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
