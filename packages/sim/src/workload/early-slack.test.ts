import { describe, expect, it } from 'vitest';
import { buildServers } from '../model/hardware.js';
import { compileWorkload, readsArrivalSlack, type CompileWorkloadInput } from './compile-workload.js';

/**
 * Two microcomputers (a 12 500 bytes/ms access uplink, 2 ms access latency): `seg-image` items (120 kB up, 20 kB
 * back, a 150 ms deadline) every 2.5 ms from the first one's clients — 9.6 ms of upload each, so its uplink is
 * saturated — and every 25 ms from the second one's.
 */
const servers = buildServers([{ preset: 'micro', count: 2 }], 10);
const trace = [
  ...Array.from({ length: 400 }, (_, i) => ({ timeMs: i * 2.5, service: 'seg-image', origin: 0 })),
  ...Array.from({ length: 40 }, (_, i) => ({ timeMs: i * 25, service: 'seg-image', origin: 1 })),
];
const input: CompileWorkloadInput = { workload: { trace }, servers, durationMs: 2000, seed: 1, earlyWindowMs: 1000, measureSlack: true };
/** Deadline − upload − access latency − the result's way back (access latency + 20 kB at the access rate). */
const idle = 150 - (120_000 / 12_500 + 2) - (2 + 20_000 / 12_500);

describe('the early window’s slack at the access servers', () => {
  it('is what the deadline leaves after an idle uplink, and far less behind a saturated one', () => {
    const [row] = compileWorkload(input).earlyWindowSlackMs;
    expect(row![1]!.length).toBe(20);
    for (const v of row![1]!) expect(v).toBeCloseTo(idle, 9);
    const hot = row![0]!;
    expect([...hot].sort((a, b) => a - b)).toEqual(hot);
    // The queue grows until items are skipped at their deadline: most arrive with little of it left.
    expect(hot[10]!).toBeLessThan(idle / 4);
    expect(hot[0]!).toBeGreaterThanOrEqual(-(2 + 20_000 / 12_500) - 1e-9);
  });

  it('without contention every item arrives after its uncontended upload', () => {
    for (const list of compileWorkload({ ...input, contention: false }).earlyWindowSlackMs[0]!) for (const v of list) expect(v).toBeCloseTo(idle, 9);
  });

  it('is measured only when asked (only EPARA reads it)', () => {
    expect(compileWorkload({ ...input, measureSlack: false }).earlyWindowSlackMs).toEqual([]);
  });
});

describe('which systems read the early window’s slack', () => {
  it('EPARA with arrivalSlack or serverSwap on; not slackReach, which EPARA deploys, given or not; no other system', () => {
    // The deployed options and the same options given explicitly read alike: neither reads the early window.
    expect(readsArrivalSlack({ kind: 'epara' })).toBe(false);
    expect(readsArrivalSlack({ kind: 'epara', placementOptions: { slackReach: true } })).toBe(false);
    expect(readsArrivalSlack({ kind: 'epara', placementOptions: { arrivalSlack: true } })).toBe(true);
    expect(readsArrivalSlack({ kind: 'epara', placementOptions: { serverSwap: true } })).toBe(true);
    expect(readsArrivalSlack({ kind: 'epara', placementOptions: { slackReach: false, arrivalSlack: true } })).toBe(true);
    expect(readsArrivalSlack({ kind: 'epara', placementOptions: { arrivalSlack: false, serverSwap: false } })).toBe(false);
    expect(readsArrivalSlack({ kind: 'triton', placementOptions: { serverSwap: true } })).toBe(false);
  });
});
