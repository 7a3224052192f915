import { EparaError } from '@epara/core';
import type { InferParameters } from './infer-types.js';

/** Request parameter (and header) naming the deadline budget from arrival, ms. */
export const DEADLINE_PARAMETER = 'epara_deadline_ms';
/** Request parameter (and header) naming the priority (an integer; higher runs first among equal deadlines). */
export const PRIORITY_PARAMETER = 'epara_priority';
/** HTTP header forms of the two parameters. */
export const DEADLINE_HEADER = 'epara-deadline-ms';
export const PRIORITY_HEADER = 'epara-priority';

/** Deadline budget and priority a client asked for (parameters win over headers). */
export interface RequestControls {
  readonly deadlineMs?: number;
  readonly priority?: number;
}

/**
 * Reads EPARA's deadline and priority from request parameters, falling back to headers.
 * @throws EparaError `INVALID_INPUT` for a non-positive or non-numeric deadline or a non-integer priority.
 */
export function readControls(parameters: InferParameters | undefined, headers: { deadline?: string | undefined; priority?: string | undefined } = {}): RequestControls {
  const rawDeadline = parameters?.[DEADLINE_PARAMETER] ?? headers.deadline;
  const rawPriority = parameters?.[PRIORITY_PARAMETER] ?? headers.priority;
  const out: { deadlineMs?: number; priority?: number } = {};
  if (rawDeadline !== undefined) {
    const n = typeof rawDeadline === 'string' && rawDeadline.trim() !== '' ? Number(rawDeadline) : rawDeadline;
    if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n)) {
      throw new EparaError('INVALID_INPUT', `${DEADLINE_PARAMETER} must be a positive number of milliseconds, got ${JSON.stringify(rawDeadline)}`, { field: DEADLINE_PARAMETER });
    }
    out.deadlineMs = n;
  }
  if (rawPriority !== undefined) {
    const n = typeof rawPriority === 'string' && rawPriority.trim() !== '' ? Number(rawPriority) : rawPriority;
    if (typeof n !== 'number' || !Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1) {
      throw new EparaError('INVALID_INPUT', `${PRIORITY_PARAMETER} must be a 32-bit integer, got ${JSON.stringify(rawPriority)}`, { field: PRIORITY_PARAMETER });
    }
    out.priority = n;
  }
  return out;
}
