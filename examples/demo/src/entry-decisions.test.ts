import { describe, expect, it } from 'vitest';
import { DecisionLog, decisionRows, slackBucket, slackRows, sumDecisions } from './entry-decisions.js';

describe('DecisionLog (what each entry decided, and how it fared)', () => {
  it('counts each decision and its outcome, and starts afresh on take()', () => {
    const log = new DecisionLog();
    log.record('image', 'local', 40)({ ok: true, latencyMs: 50, deadlineMet: true });
    log.record('image', 'local', 250)({ ok: true, latencyMs: 320, deadlineMet: false });
    log.record('image', 'forward edge-2')({ ok: false, code: 'DEADLINE_EXCEEDED' });
    const late = log.record('image', 'local', 10);
    const d = log.take();
    expect(d['image']!['local']).toMatchObject({ n: 3, good: 1, late: 1, latenciesMs: [50, 320], estimateMs: [40, 250, 10] });
    expect(d['image']!['forward edge-2']).toMatchObject({ n: 1, good: 0, dropped: { DEADLINE_EXCEEDED: 1 } });
    // An outcome after take() belongs to the run that offered the request, not to the next one.
    late({ ok: true, latencyMs: 5, deadlineMet: true });
    expect(log.take()).toEqual({});
    expect(d['image']!['local']!.good).toBe(1);
  });

  it('sums node by node and lays out one row per service, entry and decision', () => {
    const log = new DecisionLog();
    log.record('image', 'reject OVERLOADED')({ ok: false, code: 'OVERLOADED' });
    log.record('image', 'local', 20)({ ok: true, latencyMs: 30, deadlineMet: true });
    const one = log.take();
    const summed = sumDecisions([[one, {}], [one, {}]]);
    expect(summed[0]!['image']!['local']!.n).toBe(2);
    const rows = decisionRows(summed, ['edge-0', 'edge-1']);
    expect(rows.map((r) => r.slice(0, 5))).toEqual([
      ['service', 'enters at', 'decision', 'requests', 'good'],
      ['image', 'edge-0', 'local', '2', '2'],
      ['image', 'edge-0', 'reject OVERLOADED', '2', '0'],
    ]);
  });

  it("counts local decisions by the estimate's share of the budget, and how each share fared", () => {
    expect([0.2, 0.5, 0.6, 0.8, 0.95, 1, 1.3].map(slackBucket)).toEqual(['<50%', '<50%', '50–75%', '75–90%', '90–100%', '90–100%', '>100%']);
    const log = new DecisionLog();
    log.record('image', 'local', 100, 300)({ ok: true, latencyMs: 120, deadlineMet: true });
    log.record('image', 'local', 280, 300)({ ok: false, code: 'DEADLINE_EXCEEDED' });
    log.record('image', 'local', 285, 300)({ ok: true, latencyMs: 310, deadlineMet: false });
    log.record('image', 'forward edge-1', 320, 300)({ ok: true, latencyMs: 200, deadlineMet: true });
    const one = log.take();
    expect(one['image']!['local']!.bySlack).toEqual({ '<50%': { n: 1, good: 1, late: 0, dropped: 0 }, '90–100%': { n: 2, good: 0, late: 1, dropped: 1 } });
    const rows = slackRows(sumDecisions([[one], [one]]), ['edge-0']);
    expect(rows.slice(1)).toEqual([
      ['image', 'edge-0', '<50%', '2', '2', '0', '0', '100.0%'],
      ['image', 'edge-0', '90–100%', '4', '0', '2', '2', '0.0%'],
    ]);
  });
});
