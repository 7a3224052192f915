import type { Sequence } from './generation-request.js';

/**
 * The deadline of the next generation step in the device's earliest-deadline order, clock ms: the earliest,
 * over the step's members, of
 * - the time-to-first-token deadline of a member that has no token yet;
 * - the last moment the step may end so that the member's remaining steps still fit before its deadline
 *   (`deadline − (remaining − 1) × stepMs`);
 * - its even share of the time left (`now + (deadline − now) / remaining`): the steps of a turn are paced over
 *   its slack instead of all waiting for the last moment, so that an estimate that was a little optimistic,
 *   or a long batch of another service launched just before the step became urgent, does not make the turn
 *   late.
 * `Infinity` when no member has a deadline. `stepMs` is the expected time of one step on the device (compute
 * and the device's messaging, without queueing).
 */
export function stepDeadline(members: readonly Sequence[], o: { now: number; stepMs: number }): number {
  let at = Number.POSITIVE_INFINITY;
  for (const s of members) {
    if (s.generated === 0) at = Math.min(at, s.ttftDeadline);
    if (!Number.isFinite(s.deadline)) continue;
    const remaining = Math.max(1, s.maxNewTokens - s.generated);
    at = Math.min(at, s.deadline - (remaining - 1) * o.stepMs, o.now + (s.deadline - o.now) / remaining);
  }
  return at;
}

/**
 * The deadline the step after this one is expected to have (its members having advanced by one token;
 * members on their last token leave), or `undefined` when no step is expected to follow. A KV-cache
 * runner's prefill advances only the sequences that joined.
 */
export function nextStepDeadline(members: readonly Sequence[], joined: readonly Sequence[], o: { now: number; stepMs: number }, kind: 'recompute' | 'kv'): number | undefined {
  const next = members
    .map((s) => (kind === 'kv' && joined.length > 0 && !joined.includes(s) ? s : { ...s, generated: s.generated + 1 }))
    .filter((s) => s.generated < s.maxNewTokens);
  return next.length === 0 ? undefined : stepDeadline(next, o);
}
