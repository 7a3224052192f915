/**
 * Bytes the V8 heap allocated over a window: the growth of the used heap plus what every garbage collection
 * in the window freed (from `v8.GCProfiler`'s before/after statistics). Tensor data lives in ArrayBuffer
 * backing stores outside the V8 heap and is not counted here (V8's heap statistics do not see it).
 */
import * as v8 from 'node:v8';

/** Starts a meter; the returned function stops it and gives the bytes allocated since. */
export function startAllocMeter(): () => number {
  const profiler = new v8.GCProfiler();
  const before = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  return () => {
    const { statistics } = profiler.stop() ?? { statistics: [] };
    const after = v8.getHeapStatistics().used_heap_size;
    let freed = 0;
    for (const gc of statistics) freed += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize);
    return Math.max(0, after - before + freed);
  };
}
