import { describe, expect, it } from 'vitest';
import { decisionTraceLines, refusalTraceLines, secondTraceLines, summarizeDecisions, summarizeRefusals, summarizeSeconds, summarizeTraces, traceLines, type TraceLine } from './trace-summary.js';

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

describe('summarizeDecisions (what each entry decided, and what it read)', () => {
  it('groups by node and decision, with the estimate, the corrected estimate of a refusal and the best peer', () => {
    const lines: TraceLine[] = [
      // Served here on an estimate of 150 ms of a 300 ms budget.
      { ...base, node: 'edge-0', estimateAt: 150, settledAt: 200, outcome: 'ok' },
      // Refused: raw 240 ms, corrected 330 ms; the better peer (edge-1: 12 + 280 + 10 = 302 ms) read past the budget.
      {
        ...base,
        node: 'edge-0',
        decision: 'reject OVERLOADED',
        estimateAt: 240,
        settledAt: 1,
        outcome: 'OVERLOADED',
        reason: 'local estimate 330 ms, 31 ms past the 299 ms budget; no unvisited peer meets it at its current wait',
        peers: [
          { serverId: 'edge-1', waitMs: 280, ageMs: 100, loadPerSec: 1, capacityPerSec: 10, runMs: 10, travelMs: 12 },
          { serverId: 'edge-2', waitMs: 260, ageMs: 400, loadPerSec: 1, capacityPerSec: 10, runMs: 10, travelMs: 45 },
        ],
      },
      // Where the service is not hosted: no estimate; forwarded (the view showed room: 15 + 90 + 15 ms), answered late.
      { ...base, node: 'edge-1', decision: 'forward edge-0', estimateAt: Number.NaN, settledAt: 320, outcome: 'late', peers: [{ serverId: 'edge-0', waitMs: 90, ageMs: 250, loadPerSec: 1, capacityPerSec: 10, runMs: 15, travelMs: 15 }] },
      // Another service: left out.
      { ...base, node: 'edge-1', serviceId: 'chat', estimateAt: 1, settledAt: 2, outcome: 'ok' },
    ];
    const groups = summarizeDecisions(lines, 'image');
    expect(groups.map((g) => [g.node, g.decision, g.n, g.good, g.lost])).toEqual([
      ['edge-0', 'local', 1, 1, {}],
      ['edge-0', 'reject OVERLOADED', 1, 0, { OVERLOADED: 1 }],
      ['edge-1', 'forward edge-0', 1, 0, { late: 1 }],
    ]);
    expect(groups[1]).toMatchObject({ rawShare: [0.8], correctedShare: [1.1], peerAgeMs: [100], noRoom: 1 });
    expect(groups[1]!.peerShare[0]).toBeCloseTo(302 / 300);
    expect(groups[2]).toMatchObject({ rawShare: [], correctedShare: [], peerShare: [0.4], peerAgeMs: [250], noRoom: 0 });
    expect(decisionTraceLines(groups)[2]).toBe('edge-0  reject OVERLOADED  1         0.0%    OVERLOADED:1  80%/80%      110%/110%         101%/101%         100/100            1');
  });
});

describe('summarizeSeconds (how each run starts at each entry)', () => {
  it('splits each run at each node into its first seconds and the rest, by decision and outcome', () => {
    const at = (run: number, decidedAt: number, o: Partial<TraceLine>): TraceLine => ({ ...base, node: 'edge-0', run, decidedAt, deadline: decidedAt + 300, estimateAt: decidedAt + 20, ...o });
    const lines: TraceLine[] = [
      // Run 2 starts at 10 000: its first request waited 300 ms on a promise of 20 (×15) and expired.
      at(2, 10_000, { settledAt: 10_300, outcome: 'DEADLINE_EXCEEDED' }),
      at(2, 10_500, { decision: 'reject OVERLOADED', settledAt: 10_501, outcome: 'OVERLOADED' }),
      at(2, 11_200, { settledAt: 11_240, outcome: 'ok' }),
      at(2, 14_000, { decision: 'forward edge-2', settledAt: 14_100, outcome: 'ok' }),
      at(2, 15_500, { settledAt: 15_520, outcome: 'ok' }),
      // Run 4 at another node and time; another service is left out.
      at(4, 40_000, { node: 'edge-1', settledAt: 40_010, outcome: 'ok' }),
      at(4, 39_000, { serviceId: 'chat', node: 'edge-1', settledAt: 39_010, outcome: 'ok' }),
    ];
    const groups = summarizeSeconds(lines, 'image');
    expect(groups.map((g) => [g.node, g.run, g.second, g.n, g.good, g.local, g.forwarded, g.refused, g.lost])).toEqual([
      ['edge-0', 2, '0', 2, 0, 1, 0, 1, { DEADLINE_EXCEEDED: 1, OVERLOADED: 1 }],
      ['edge-0', 2, '1', 1, 1, 1, 0, 0, {}],
      ['edge-0', 2, '3+', 2, 2, 1, 1, 0, {}],
      ['edge-1', 4, '0', 1, 1, 1, 0, 0, {}],
    ]);
    expect(groups[0]!.answerOverEstimate).toEqual([15]);
    expect(secondTraceLines(groups)[1]).toBe('edge-0  2    0       2         0.0%    1/0/1              DEADLINE_EXCEEDED:1 OVERLOADED:1  15.00/15.00');
  });
});

describe('summarizeRefusals (a peer refusing a forward: what the entry read of it, what it saw)', () => {
  it('counts forwards and refusals per entry and peer, with the view\'s wait against the peer\'s quoted estimate', () => {
    const peer = { serverId: 'edge-2', waitMs: 40, ageMs: 200, loadPerSec: 150, capacityPerSec: 100, runMs: 30, travelMs: 12 };
    const lines: TraceLine[] = [
      // Forwarded to edge-2 and answered: a forward, no refusal.
      { ...base, node: 'edge-0', decision: 'forward edge-2', estimateAt: 500, outcome: 'ok', peers: [peer] },
      // Refused there: the view read 40 + 200 × (1.5 − 1) = 140 ms of wait; edge-2 quoted 330 ms less its 30 ms run.
      {
        ...base,
        node: 'edge-0',
        decision: 'forward edge-2',
        estimateAt: 500,
        outcome: 'OVERLOADED',
        peers: [peer],
        refusals: [{ peer: 'edge-2', reason: 'local estimate 330 ms, 84 ms past the 246 ms budget; no unvisited peer meets it at its current wait' }],
      },
      // Another service: left out.
      { ...base, node: 'edge-0', serviceId: 'chat', decision: 'forward edge-2', estimateAt: 500, outcome: 'ok' },
    ];
    const groups = summarizeRefusals(lines, 'image');
    expect(groups).toEqual([{ node: 'edge-0', peer: 'edge-2', forwards: 2, refused: 1, viewWaitMs: [140], peerWaitMs: [300], peerBudgetMs: [246], ageMs: [200] }]);
    expect(refusalTraceLines(groups)[1]).toBe('edge-0  edge-2  2         1        140/140       300/300       246/246         200/200');
  });
});
