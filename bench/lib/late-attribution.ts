/**
 * Where late service comes from, measured on an executor's own events: per batch, the predicted end
 * (`plannedStart + expectedMs` at dispatch) against the moment the host had the outputs, the time inside the
 * backend (`runMs`), and the rest (worker messaging, a busy host thread, waiting behind a batch sent ahead).
 * For the overload section of `bench/runtime.ts`; printed, not part of the JSON.
 */
import type { Executor } from '@epara/runtime';

interface BatchRecord {
  readonly size: number;
  readonly ahead: boolean;
  readonly predictedEnd: number;
  readonly expectedMs: number;
  runMs?: number;
  endAt?: number;
}

/** Starts recording `ex`'s batches (one device: completions come in dispatch order); `summary()` describes them. */
export function recordBatches(ex: Executor, clockNow: () => number): { summary(): string } {
  const batches: BatchRecord[] = [];
  let done = 0;
  ex.on('batchDispatched', (e) => batches.push({ size: e.size, ahead: e.plannedStart > e.at, predictedEnd: e.plannedStart + e.expectedMs, expectedMs: e.expectedMs }));
  ex.on('batchCompleted', (e) => {
    const b = batches[done++];
    if (b === undefined) return;
    b.runMs = e.runMs;
    b.endAt = clockNow();
  });
  return {
    summary() {
      const ended = batches.filter((b) => b.endAt !== undefined);
      const q = (xs: number[], p: number): string => (xs.length === 0 ? '-' : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1));
      const over = ended.map((b) => b.endAt! - b.predictedEnd);
      const compute = ended.map((b) => b.runMs! / b.expectedMs);
      const ahead = ended.filter((b) => b.ahead).length;
      const late5 = over.filter((x) => x > 5).length;
      return (
        `batches ${ended.length} (${ahead} sent ahead), mean size ${(ended.reduce((s, b) => s + b.size, 0) / Math.max(1, ended.length)).toFixed(1)}; ` +
        `end − predicted end p50 ${q(over, 0.5)} p99 ${q(over, 0.99)} max ${q(over, 1)} ms (${late5} over 5 ms); ` +
        `compute / predicted p50 ${q(compute, 0.5)} p99 ${q(compute, 0.99)}`
      );
    },
  };
}
