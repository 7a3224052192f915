import { describe, expect, it } from 'vitest';
import { main } from './main.js';

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe('examples/video-client (real PP-OCR detector as a frequency stream over loopback WebSockets)', () => {
  it('streams a moving pattern through a peer: results in order, every frame accounted for, masks follow the motion', async () => {
    const report = await main({ short: true, rateHz: 15, stalenessMs: 1000 });
    expect(report.pinnedTo).toBe('gpu');
    expect(report.pushed).toBe(30);
    // One result per pushed frame, in push order.
    expect(report.outcomes.map((o) => o.seq)).toEqual(Array.from({ length: 30 }, (_, k) => k));
    expect(report.completed + report.dropped).toBe(report.pushed);
    expect(report.summary).toEqual({ pushed: report.pushed, completed: report.completed, dropped: report.dropped });
    expect(Object.values(report.dropsByCode).reduce((a, b) => a + b, 0)).toBe(report.dropped);
    for (const o of report.outcomes) if (!o.ok) expect(o.code).toMatch(/^[A-Z_]+$/);
    // The detector's mask moves with the drawn block (the frames are deterministic, so is the model).
    const ok = report.outcomes.filter((o) => o.ok && Number.isFinite(o.seenX));
    expect(ok.length).toBeGreaterThan(report.pushed / 2);
    expect(correlation(ok.map((o) => o.drawnX!), ok.map((o) => o.seenX!))).toBeGreaterThan(0.9);
    expect(report.fps).toBeGreaterThan(0);
    // The metrics saw every frame: goodput (within staleness) plus the rest equals what was pushed.
    const value = (prefix: string) => Number(report.metrics.find((l) => l.startsWith(prefix))?.split(' ').pop() ?? 0);
    const good = value('epara_goodput_requests_total{node="local",model="video-seg",category="frequency"}');
    const observed = report.metrics.filter((l) => l.startsWith('epara_requests_observed_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    expect(observed).toBe(report.pushed);
    expect(good).toBe(report.outcomes.filter((o) => o.ok && o.latencyMs! <= 1000).length);
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(report.latencyMs.p50);
  }, 60_000);
});
