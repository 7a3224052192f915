import { describe, expect, it } from 'vitest';
import { addGcCounts, gcCounts, startGcMeter, type GcStatistic } from './gc-meter.js';

const at = (usedHeapSize: number, externalMemory: number) => ({ usedHeapSize, externalMemory });
const gc = (gcType: string, costUs: number, before: [number, number], after: [number, number]): GcStatistic => ({ gcType, cost: costUs, beforeGC: { heapStatistics: at(...before) }, afterGC: { heapStatistics: at(...after) } });

describe('gcCounts', () => {
  it('counts collections by kind, their pauses, and what was allocated between them', () => {
    const counts = gcCounts(
      at(1000, 500),
      [gc('Scavenge', 300, [3000, 900], [1200, 600]), gc('IncrementalMarking', 50, [1500, 700], [1500, 700]), gc('MarkSweepCompact', 2000, [2500, 1700], [800, 100])],
      at(1100, 400),
    );
    // heap: 1000→3000 (2000), 1200→1500 (300), 1500→2500 (1000), 800→1100 (300); external: 400 + 100 + 1000 + 300.
    expect(counts).toEqual({ scavenges: 1, markCompacts: 1, incrementalSteps: 1, pauseMs: 2.35, heapBytes: 3600, externalBytes: 1800 });
  });

  it('never counts a shrink between two readings as negative allocation, and adds up', () => {
    const counts = gcCounts(at(5000, 5000), [], at(4000, 4000));
    expect(counts.heapBytes).toBe(0);
    expect(counts.externalBytes).toBe(0);
    expect(addGcCounts(counts, { ...counts, scavenges: 2, heapBytes: 7 })).toMatchObject({ scavenges: 2, heapBytes: 7 });
  });

  it('sees ArrayBuffers allocated on this thread as external bytes', () => {
    const stop = startGcMeter();
    const kept: Float32Array[] = [];
    for (let i = 0; i < 20; i++) kept.push(new Float32Array(76_800));
    const counts = stop();
    expect(kept).toHaveLength(20);
    expect(counts.externalBytes).toBeGreaterThanOrEqual(20 * 76_800 * 4);
  });
});
