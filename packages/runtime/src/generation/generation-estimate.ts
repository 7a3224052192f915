/** What the admission estimate needs to know about the engine right now. */
export interface SchedulerSnapshot {
  readonly now: number;
  readonly maxBatch: number;
  /** Per active sequence: current length and steps still to go (at most; EOS may end it sooner). */
  readonly active: readonly { readonly length: number; readonly remainingSteps: number }[];
  /** Requests already waiting ahead of the new one. */
  readonly waitingAhead: number;
  /** When the running step started and its batch × length, if a step is running. */
  readonly running?: { readonly startedAt: number; readonly work: number };
  /** Estimated ms of a call of `work` units (see `stepWork`). */
  readonly stepMs: (work: number) => number;
  /** Work of a step with `batch` sequences of (padded) length `length`. @default batch × length */
  readonly stepWork?: (batch: number, length: number) => number;
  /** Work of the call that yields a newcomer's first token, when prefills run on their own (KV cache). */
  readonly prefillWork?: (promptTokens: number) => number;
}

/** Time to first token and completion time estimated for a new request. */
export interface GenerationEstimate {
  readonly firstTokenAt: number;
  readonly completionAt: number;
  /** Step duration the request will see once in the batch. */
  readonly stepMs: number;
}

/**
 * Estimates when a new request of `promptTokens` and `maxNewTokens` gets its first token and finishes, under
 * iteration-level batching: it joins at the next step boundary when a slot is free, otherwise when enough
 * active sequences have left (assuming each runs to its token limit: pessimistic when EOS ends sequences
 * early); then every step costs `stepMs(batch × padded length)`.
 */
export function estimateGeneration(s: SchedulerSnapshot, promptTokens: number, maxNewTokens: number): GenerationEstimate {
  const runningLeft = s.running ? Math.max(0, s.running.startedAt + s.stepMs(s.running.work) - s.now) : 0;
  const ahead = s.active.length + s.waitingAhead;
  const batch = Math.min(s.maxBatch, ahead + 1);
  const finalLength = Math.max(promptTokens + maxNewTokens, ...s.active.map((a) => a.length + a.remainingSteps));
  const joinLength = Math.max(promptTokens, ...s.active.map((a) => a.length + 1));
  const work = s.stepWork ?? ((b: number, len: number) => b * len);
  const firstStep = s.stepMs(s.prefillWork ? s.prefillWork(promptTokens) : work(batch, joinLength));
  let waitSteps = 0;
  if (ahead >= s.maxBatch) {
    // The new request needs the (ahead − maxBatch + 1)-th slot to free up.
    const remaining = s.active.map((a) => a.remainingSteps).sort((a, b) => a - b);
    const k = ahead - s.maxBatch;
    const rounds = Math.floor(k / Math.max(1, remaining.length));
    const longest = remaining[remaining.length - 1] ?? maxNewTokens;
    waitSteps = (remaining[k % Math.max(1, remaining.length)] ?? longest) + rounds * longest;
  }
  const fullStep = s.stepMs(work(batch, finalLength));
  const firstTokenAt = s.now + runningLeft + waitSteps * s.stepMs(work(s.maxBatch, joinLength)) + firstStep;
  return { firstTokenAt, completionAt: firstTokenAt + (maxNewTokens - 1) * fullStep, stepMs: fullStep };
}
