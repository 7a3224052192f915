import type { EparaError, EparaErrorDetails } from '@epara/core';
import { stacklessError } from '@epara/core/internal';

/** The codes the schedulers settle a shed (not failed) request with. */
export type ShedCode = 'DEADLINE_EXCEEDED' | 'OVERLOADED' | 'STALE_FRAME';

/**
 * An {@link EparaError} for a request the host sheds (dropped before running, or refused at admission),
 * created without stack frames (core's `stacklessError`). Shedding is a scheduling outcome, not a fault: its
 * trace would only name the scheduler's own functions, and it is the hot path under overload — thousands of
 * rejections a second.
 */
export function shedError(code: ShedCode, message: string, details: EparaErrorDetails): EparaError {
  return stacklessError(code, message, details);
}
