import { EparaError } from '@epara/core';
import type { InferParameters } from './infer-types.js';

/** Request parameter (and header) naming the deadline budget from arrival, ms. */
export const DEADLINE_PARAMETER = 'epara_deadline_ms';
/** Request parameter (and header) naming the priority (an integer; higher runs first among equal deadlines). */
export const PRIORITY_PARAMETER = 'epara_priority';
/** HTTP header forms of the two parameters. */
export const DEADLINE_HEADER = 'epara-deadline-ms';
export const PRIORITY_HEADER = 'epara-priority';

/** Triton's request timeout parameter, microseconds (tritonclient's `timeout=`): the deadline when EPARA's is not given. */
export const TIMEOUT_PARAMETER = 'timeout';

/**
 * Triton's request priority (an unsigned integer; 0 is the model's default level, 1 the highest of the levels
 * its config declares). EPARA has no priority levels to place it on (`epara_priority` orders requests of equal
 * deadline, higher first, with no default level in between): it is checked and then ignored.
 */
export const TRITON_PRIORITY_PARAMETER = 'priority';

/** Deadline budget and priority a client asked for (parameters win over headers). */
export interface RequestControls {
  readonly deadlineMs?: number;
  readonly priority?: number;
}

/**
 * Reads EPARA's deadline and priority from request parameters, falling back to headers.
 * Triton's `timeout` (microseconds) is the deadline when neither is given.
 * Triton's `priority` is checked (a non-negative integer) and ignored.
 * @throws EparaError `INVALID_INPUT` for a non-positive or non-numeric deadline or timeout, a non-integer priority, or
 * Triton's sequence parameters.
 */
export function readControls(parameters: InferParameters | undefined, headers: { deadline?: string | undefined; priority?: string | undefined } = {}): RequestControls {
  refuseSequence(parameters);
  const tritonPriority = parameters?.[TRITON_PRIORITY_PARAMETER];
  // A uint64 in Triton, which takes any (one past the model's levels runs at its default): past 2^53 too.
  if (tritonPriority !== undefined && !(typeof tritonPriority === 'number' && Number.isInteger(tritonPriority) && tritonPriority >= 0)) {
    throw new EparaError('INVALID_INPUT', `${TRITON_PRIORITY_PARAMETER} must be a non-negative integer (Triton's priority level; accepted and ignored), got ${shown(tritonPriority)}`, { field: TRITON_PRIORITY_PARAMETER });
  }
  const rawDeadline = parameters?.[DEADLINE_PARAMETER] ?? headers.deadline;
  const rawPriority = parameters?.[PRIORITY_PARAMETER] ?? headers.priority;
  const out: { deadlineMs?: number; priority?: number } = {};
  const timeoutUs = parameters?.[TIMEOUT_PARAMETER];
  if (rawDeadline === undefined && timeoutUs !== undefined) {
    if (typeof timeoutUs !== 'number' || !(timeoutUs > 0) || !Number.isFinite(timeoutUs)) {
      throw new EparaError('INVALID_INPUT', `${TIMEOUT_PARAMETER} must be a positive number of microseconds, got ${shown(timeoutUs)}`, { field: TIMEOUT_PARAMETER });
    }
    out.deadlineMs = timeoutUs / 1000;
  }
  if (rawDeadline !== undefined) {
    const n = typeof rawDeadline === 'string' && rawDeadline.trim() !== '' ? Number(rawDeadline) : rawDeadline;
    if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n)) {
      throw new EparaError('INVALID_INPUT', `${DEADLINE_PARAMETER} must be a positive number of milliseconds, got ${shown(rawDeadline)}`, { field: DEADLINE_PARAMETER });
    }
    out.deadlineMs = n;
  }
  if (rawPriority !== undefined) {
    const n = typeof rawPriority === 'string' && rawPriority.trim() !== '' ? Number(rawPriority) : rawPriority;
    if (typeof n !== 'number' || !Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1) {
      throw new EparaError('INVALID_INPUT', `${PRIORITY_PARAMETER} must be a 32-bit integer, got ${shown(rawPriority)}`, { field: PRIORITY_PARAMETER });
    }
    out.priority = n;
  }
  return out;
}

/**
 * A refused parameter value as a message quotes it: an integer past 2^53 was read as the nearest double (a JSON
 * parser's number, or a 64-bit gRPC parameter), so its digits would be another number than the client sent.
 */
export function shown(v: unknown): string {
  return typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? 'an integer past 2^53' : JSON.stringify(v);
}

/**
 * Triton's sequence batching parameters ask the server to keep state between the requests of a sequence, which
 * the gateway does not: answering each request alone would be a wrong answer for a stateful model. What
 * tritonclient sends outside any sequence (`sequence_id` 0 or empty, start and end false) passes.
 * @throws EparaError `INVALID_INPUT`
 */
function refuseSequence(parameters: InferParameters | undefined): void {
  if (!parameters) return;
  const id = parameters['sequence_id'];
  const inSequence = (id !== undefined && id !== 0 && id !== '') || parameters['sequence_start'] === true || parameters['sequence_end'] === true;
  if (inSequence) {
    throw new EparaError('INVALID_INPUT', 'sequence batching is not supported (sequence_id, sequence_start, sequence_end): the server keeps no state between requests; send the state as an input', { field: 'parameters.sequence_id' });
  }
}
