/**
 * Garbage-collection pauses over a window (perf_hooks `gc` entries), to tell how much of the event-loop lag
 * measured over the same window the collector explains: a lag p99 well above the longest pause comes from
 * elsewhere (long synchronous stretches on the host thread, or a CPU shared with other processes).
 */
import { constants, PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

/** What the collector did over a window. */
export interface GcSummary {
  /** Young-generation collections (scavenges): count, total and longest pause, ms. */
  readonly minor: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
  /** Every other kind (mark-compact, incremental marking steps, weak callbacks). */
  readonly major: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
  /** Share of the window's wall time the host thread was busy (event-loop utilization). */
  readonly utilization: number;
}

/** Starts watching; the returned function stops and summarizes. */
export function startGcWatch(): () => GcSummary {
  const minor = { count: 0, totalMs: 0, maxMs: 0 };
  const major = { count: 0, totalMs: 0, maxMs: 0 };
  const add = (entries: readonly PerformanceEntry[]): void => {
    for (const e of entries) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const s = kind === constants.NODE_PERFORMANCE_GC_MINOR ? minor : major;
      s.count++;
      s.totalMs += e.duration;
      s.maxMs = Math.max(s.maxMs, e.duration);
    }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const elu = performance.eventLoopUtilization();
  return () => {
    // Entries are delivered asynchronously; take what is buffered before disconnecting.
    add(observer.takeRecords());
    observer.disconnect();
    return { minor, major, utilization: performance.eventLoopUtilization(elu).utilization };
  };
}

/** One line for the bench's output. */
export function describeGc(g: GcSummary): string {
  const f = (s: GcSummary['minor']): string => `${s.count} (total ${s.totalMs.toFixed(1)} ms, longest ${s.maxMs.toFixed(1)} ms)`;
  return `GC pauses: scavenges ${f(g.minor)}, other ${f(g.major)}; host thread busy ${(100 * g.utilization).toFixed(0)}% of the window`;
}
