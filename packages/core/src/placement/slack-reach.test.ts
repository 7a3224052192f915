import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;
const profiles = { slow: affineProfile('slow', { fixedMs: 5, perItemMs: 1, maxBatch: 64 }), fast: affineProfile('fast', { fixedMs: 1, perItemMs: 0.4, maxBatch: 64 }) };
const cls = placementService('cls', { weightsGb: 1, deadlineMs: 50, loadTimeMs: 300, profiles });
/** Worst cases: 30 ms on the slow board, 10 ms on the fast GPU. */
const plans = [affinePlan(cls, 'slow', { fixedMs: 5, perItemMs: 1, batch: 10 }), affinePlan(cls, 'fast', { fixedMs: 1, perItemMs: 0.4, batch: 10 })];

/**
 * The demand enters at `b`, which holds the slow board; `c`, 5 ms away, holds the fast GPU; `d` (no device) is
 * 30 ms from both, so round trips can take more than half of the 50 ms deadline: a tight service.
 */
const servers: ServerSpec[] = [
  { id: 'b', devices: [{ id: 'j0', kind: 'slow', memoryBytes: 16 * GB }] },
  { id: 'c', devices: [{ id: 'g0', kind: 'fast', memoryBytes: 16 * GB }] },
  { id: 'd', devices: [] },
];
const input: PlacementInput = {
  servers,
  services: [cls],
  plans: { cls: plans },
  demand: [{ serviceId: 'cls', ratePerServer: { b: 50 } }],
  delaysMs: { b: { b: 0, c: 5, d: 30 }, c: { b: 5, c: 0, d: 30 }, d: { b: 30, c: 30, d: 0 } },
  // Half of b's items reach it with 25 ms left (a backed-up uplink), half with the whole deadline.
  arrivalSlackMs: { cls: { b: [25, 50] } },
};
const whole = { multiTask: false } as const;
const serverOf = (r: ReturnType<typeof placeServices>): string[] => r.instances.map((i) => i.serverId);

describe('slackReach: the reach test reads the slack items arrive with', () => {
  it('gives a tight service the fast device that still answers its late items', () => {
    // On the whole deadline both devices serve all of it; the nearer (the board at b itself) wins the tie.
    const plain = placeServices(input, whole);
    expect(serverOf(plain)).toEqual(['b']);
    expect(plain.goodputPerSec).toBeCloseTo(50, 6);
    // Late items need 0 + 30 > 25 ms on the board, 10 + 10 ≤ 25 on the GPU: only the GPU serves all of them.
    const slack = placeServices(input, { ...whole, slackReach: true });
    expect(serverOf(slack)).toEqual(['c']);
    expect(slack.goodputPerSec).toBeCloseTo(50, 6);
  });

  it('keeps the slack-read placement only when, judged by the same reach, it serves more items than the other', () => {
    // Main case: on the slack-read reach the board at b serves only the fresh half (25/s), the GPU at c all 50/s.
    const slack = placeServices(input, { ...whole, slackReach: true });
    expect(slack.stats.evaluations).toBeGreaterThan(placeServices(input, whole).stats.evaluations);
    // With the board alone both placements are the same instance: the one on the whole deadline is kept as it is.
    const boardOnly: PlacementInput = { ...input, plans: { cls: [plans[0]!] } };
    const plain = placeServices(boardOnly, whole);
    const read = placeServices(boardOnly, { ...whole, slackReach: true });
    expect(serverOf(read)).toEqual(['b']);
    expect(read.goodputPerSec).toBe(plain.goodputPerSec);
    expect(read.instances).toEqual(plain.instances);
  });

  it('leaves a service whose deadline dwarfs the round trips as it was', () => {
    const far = (ms: number): PlacementInput['delaysMs'] => ({ b: { b: 0, c: 5, d: ms }, c: { b: 5, c: 0, d: ms }, d: { b: ms, c: ms, d: 0 } });
    // With d 20 ms away the longest round trip is 40 ms (2 × 40 ≥ 50): still tight.
    expect(serverOf(placeServices({ ...input, delaysMs: far(20) }, { ...whole, slackReach: true }))).toEqual(['c']);
    // With d 10 ms away (round trips ≤ 20 ms, 2 × 20 < 50) the slack is not read.
    expect(serverOf(placeServices({ ...input, delaysMs: far(10) }, { ...whole, slackReach: true }))).toEqual(['b']);
  });

  it('changes nothing without slack given or without delays', () => {
    const { arrivalSlackMs: _, ...noSlack } = input;
    expect(placeServices(noSlack, { ...whole, slackReach: true })).toEqual(placeServices(noSlack, whole));
    const { delaysMs: __, ...noDelays } = input;
    expect(placeServices(noDelays, { ...whole, slackReach: true })).toEqual(placeServices(noDelays, whole));
  });
});
