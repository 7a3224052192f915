import { EparaError, type EparaErrorCode, type EparaErrorDetails } from './epara-error.js';

/**
 * An {@link EparaError} created without stack frames, for errors that are outcomes on a hot path rather than
 * faults: a request shed under overload, an error a peer sent back. Their trace would only name the code that
 * made them, and an `EparaError` formats its trace when created, which costs ~0.1 ms with ten frames and far
 * more with source maps on (`tsx`, `--enable-source-maps`); an empty trace costs a few microseconds. The code,
 * message and details are those of any other `EparaError`.
 */
export function stacklessError(code: EparaErrorCode, message: string, details: EparaErrorDetails): EparaError {
  const limit = V8Error.stackTraceLimit;
  V8Error.stackTraceLimit = 0;
  try {
    return new EparaError(code, message, details);
  } finally {
    V8Error.stackTraceLimit = limit;
  }
}

/** `Error` with V8's `stackTraceLimit` (core is typed without Node's types). */
const V8Error = Error as ErrorConstructor & { stackTraceLimit: number };
