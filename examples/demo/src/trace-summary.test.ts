import { describe, expect, it } from 'vitest';
import { summarizeTraces, traceLines, type TraceLine } from './trace-summary.js';

const base = { run: 1, serviceId: 'image', decision: 'local', decidedAt: 0, deadline: 300 } as const;

describe('summarizeTraces (where a request\'s time went against the estimate)', () => {
  it('splits the miss into the batch planned later, the batch ending later than planned, and the host', () => {
    const lines: TraceLine[] = [
      // Promised 250 (83 % of the budget); its batch planned 200 + 80 = 280, ended 200 + 110 = 310, seen at 318.
      { ...base, node: 'edge-0', estimateAt: 250, startedAt: 200, batchExpectedMs: 80, batchDurationMs: 110, finishedAt: 310, settledAt: 318, outcome: 'late' },
      // Same bucket, expired in the queue: counted, not split.
      { ...base, node: 'edge-0', estimateAt: 260, finishedAt: 300, settledAt: 301, outcome: 'DEADLINE_EXCEEDED' },
      // Another bucket, good.
      { ...base, node: 'edge-0', estimateAt: 100, startedAt: 60, batchExpectedMs: 40, batchDurationMs: 42, finishedAt: 102, settledAt: 103, outcome: 'ok' },
      // Not served here, or another service: left out.
      { ...base, node: 'edge-0', decision: 'forward edge-1', estimateAt: 250, settledAt: 280, outcome: 'ok' },
      { ...base, node: 'edge-0', serviceId: 'chat', estimateAt: 250, settledAt: 280, outcome: 'ok' },
    ];
    const groups = summarizeTraces(lines, 'image');
    expect(groups.map((g) => [g.bucket, g.n, g.good, g.notRun])).toEqual([
      ['<50%', 1, 1, 0],
      ['75–90%', 2, 0, 1],
    ]);
    const late = groups[1]!;
    expect(late.plannedMs).toEqual([30]);
    expect(late.overrunMs).toEqual([30]);
    expect(late.hostMs).toEqual([8]);
    expect(late.missMs).toEqual([68, 41]);
    expect(traceLines(groups)[2]).toBe('edge-0  75–90%      2         0.0%    1        30.0/30.0    30.0/30.0    8.0/8.0         41.0/68.0');
  });
});
