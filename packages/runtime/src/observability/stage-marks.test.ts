import { describe, expect, it } from 'vitest';
import { sequentialExecutor, sequentialItem as item } from '../executor/sequential-fixture.js';
import { recordStageMarks, REQUEST_STAGES } from './stage-marks.js';

// The stage marks a benchmark decomposes a sequential request's time with: every stage is reached, and each thread's
// own stages are in order (the two threads' clocks are compared only by the benchmark, not here).

const at = (marks: Float64Array, stage: (typeof REQUEST_STAGES)[number]): number => marks[REQUEST_STAGES.indexOf(stage)]!;

describe('stage marks', () => {
  it.each([
    ['by message', 0],
    ['through the doorbell', undefined],
  ] as const)('a sequential request reaches every stage, in order on each thread (%s)', async (_path, doorbellSlotBytes) => {
    const marks = recordStageMarks();
    expect(recordStageMarks()).toBe(marks);
    const ex = sequentialExecutor(doorbellSlotBytes);
    await ex.start();
    try {
      // The first requests ring nothing in yet (the worker learns the layout first): the last one is timed.
      for (let i = 0; i < 4; i++) {
        marks.fill(0);
        const out = await ex.submit('s', item(i));
        expect(Array.from(out['y']!.data as Float32Array)).toEqual([2 * i + 1, 2 * i + 1]);
      }
      for (const stage of REQUEST_STAGES) expect(at(marks, stage), stage).toBeGreaterThan(0);
      const host = ['submit', 'planned', 'sent'] as const;
      for (let k = 1; k < host.length; k++) expect(at(marks, host[k]!)).toBeGreaterThanOrEqual(at(marks, host[k - 1]!));
      expect(at(marks, 'settled')).toBeGreaterThanOrEqual(at(marks, 'hostWoke'));
      const worker = ['workerWoke', 'runStart', 'runEnd', 'answered'] as const;
      for (let k = 1; k < worker.length; k++) expect(at(marks, worker[k]!)).toBeGreaterThanOrEqual(at(marks, worker[k - 1]!));
    } finally {
      await ex.close();
    }
  });
});
