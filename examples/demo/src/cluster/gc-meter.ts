import * as v8 from 'node:v8';

/*
 * What a process's garbage collector did over a window, and what its program allocated: the counts behind V8's
 * helper threads' share of a node's CPU. Every child of the demo can run one meter at a time (`gcStart` /
 * `gcStop`, child-rpc.ts); the trials run one on every node process and client over each run.
 */

/** A process's collections and allocations over one window. */
export interface GcCounts {
  /** Young-generation collections (V8's scavenger). */
  readonly scavenges: number;
  /** Full collections (mark-sweep-compact), wherever they were started from. */
  readonly markCompacts: number;
  /** Steps of incremental marking (the start of a full collection's marking, done in slices). */
  readonly incrementalSteps: number;
  /** Time V8 reports the collections' callbacks took on this thread, ms (the pauses, not the helper threads' work). */
  readonly pauseMs: number;
  /** V8 heap bytes allocated: the used heap's growth plus what each collection freed. */
  readonly heapBytes: number;
  /**
   * Bytes allocated outside the V8 heap that V8 accounts for (ArrayBuffer backing stores: tensors, frames, socket
   * reads): the growth of V8's external memory plus what each collection released.
   */
  readonly externalBytes: number;
}

/** The heap's figures one collection statistic carries (a subset of `v8.GCProfiler`'s). */
export interface HeapFigures {
  readonly usedHeapSize: number;
  readonly externalMemory: number;
}

/** One collection as `v8.GCProfiler` reports it (the fields the meter reads). */
export interface GcStatistic {
  readonly gcType: string;
  /** µs */
  readonly cost: number;
  readonly beforeGC: { readonly heapStatistics: HeapFigures };
  readonly afterGC: { readonly heapStatistics: HeapFigures };
}

/**
 * The counts of a window from its collections and the heap's figures at its start and end. Allocation between
 * two collections is what the heap grew by from the first's end to the second's start; bytes a collection
 * freed are not counted again. Growth never goes below zero (a concurrent sweep may release memory between two
 * readings).
 */
export function gcCounts(start: HeapFigures, statistics: readonly GcStatistic[], end: HeapFigures): GcCounts {
  let scavenges = 0;
  let markCompacts = 0;
  let incrementalSteps = 0;
  let pauseUs = 0;
  let heapBytes = 0;
  let externalBytes = 0;
  let prev = start;
  for (const s of statistics) {
    if (s.gcType === 'Scavenge' || s.gcType === 'MinorMarkCompact' || s.gcType === 'MinorMarkSweep') scavenges++;
    else if (s.gcType === 'MarkSweepCompact') markCompacts++;
    else if (s.gcType === 'IncrementalMarking') incrementalSteps++;
    pauseUs += s.cost;
    const before = s.beforeGC.heapStatistics;
    heapBytes += Math.max(0, before.usedHeapSize - prev.usedHeapSize);
    externalBytes += Math.max(0, before.externalMemory - prev.externalMemory);
    prev = s.afterGC.heapStatistics;
  }
  heapBytes += Math.max(0, end.usedHeapSize - prev.usedHeapSize);
  externalBytes += Math.max(0, end.externalMemory - prev.externalMemory);
  return { scavenges, markCompacts, incrementalSteps, pauseMs: pauseUs / 1000, heapBytes, externalBytes };
}

/** Adds counts (several processes, several runs). */
export function addGcCounts(a: GcCounts, b: GcCounts): GcCounts {
  return {
    scavenges: a.scavenges + b.scavenges,
    markCompacts: a.markCompacts + b.markCompacts,
    incrementalSteps: a.incrementalSteps + b.incrementalSteps,
    pauseMs: a.pauseMs + b.pauseMs,
    heapBytes: a.heapBytes + b.heapBytes,
    externalBytes: a.externalBytes + b.externalBytes,
  };
}

export const NO_GC: GcCounts = { scavenges: 0, markCompacts: 0, incrementalSteps: 0, pauseMs: 0, heapBytes: 0, externalBytes: 0 };

function heapNow(): HeapFigures {
  const h = v8.getHeapStatistics();
  return { usedHeapSize: h.used_heap_size, externalMemory: h.external_memory };
}

/** Starts a meter on this thread; the function it returns stops it and answers the window's counts. */
export function startGcMeter(): () => GcCounts {
  const profiler = new v8.GCProfiler();
  const start = heapNow();
  profiler.start();
  return () => {
    const statistics = (profiler.stop()?.statistics ?? []) as unknown as GcStatistic[];
    return gcCounts(start, statistics, heapNow());
  };
}
