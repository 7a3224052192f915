import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import { EparaError } from '../errors/epara-error.js';
import type { ServerSpec } from '../model/device.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;
const cls = placementService('cls', { weightsGb: 1, deadlineMs: 50, loadTimeMs: 300, profiles: { gpu: affineProfile('gpu', { fixedMs: 4, perItemMs: 1, maxBatch: 64 }) } });
/** A worst case of 20 ms (a 10 ms run at batch 6, twice). */
const plan = affinePlan(cls, 'gpu', { fixedMs: 4, perItemMs: 1, batch: 6 });

/**
 * The demand enters at `a`, which has no device; `b` is 8 ms from it, `c` 10 ms: both reach it on delays alone
 * (16 + 20 and 20 + 20 ms within 50), and `b` is the nearer.
 */
const servers: ServerSpec[] = [
  { id: 'a', devices: [] },
  ...['b', 'c'].map((id) => ({ id, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] })),
];
const input: PlacementInput = {
  servers,
  services: [cls],
  plans: { cls: [plan] },
  demand: [{ serviceId: 'cls', ratePerServer: { a: 50 } }],
  delaysMs: { a: { a: 0, b: 8, c: 10 }, b: { a: 8, b: 0, c: 5 }, c: { a: 10, b: 5, c: 0 } },
};
/** `a`'s link to `b` is thin: an item and its result take 15 ms on it, 1 ms to `c`. */
const transferMs = (_service: string, from: string, to: string): number => (from === to ? 0 : (from === 'b' || to === 'b') ? 15 : 1);

const serverOf = (r: ReturnType<typeof placeServices>): string[] => r.instances.map((i) => i.serverId);

describe('transferMs: the reach test counts the payload on the links', () => {
  it('places the instance where the item and its result still arrive in time', () => {
    expect(serverOf(placeServices(input))).toEqual(['b']);
    const withTransfer = placeServices({ ...input, transferMs });
    // b: 16 ms there and back + 15 ms on the link + 20 ms > 50; c: 20 + 1 + 20 ≤ 50.
    expect(serverOf(withTransfer)).toEqual(['c']);
    expect(withTransfer.goodputPerSec).toBeCloseTo(50, 6);
  });

  it('counts no demand an instance could not answer in time', () => {
    const cOnlyB: PlacementInput = { ...input, servers: servers.filter((s) => s.id !== 'c'), delaysMs: { a: { a: 0, b: 8 }, b: { a: 8, b: 0 } } };
    expect(placeServices(cOnlyB).goodputPerSec).toBeCloseTo(50, 6);
    const r = placeServices({ ...cOnlyB, transferMs });
    expect(r.goodputPerSec).toBe(0);
    expect(r.instances).toEqual([]);
  });

  it('is read only with locality', () => {
    expect(serverOf(placeServices({ ...input, transferMs }, { locality: false }))).toEqual(serverOf(placeServices(input, { locality: false })));
  });

  it('rejects a transfer time that is negative or not a number, naming the pair', () => {
    for (const bad of [-1, Number.NaN, 'x']) {
      const run = (): unknown => placeServices({ ...input, transferMs: (_s, _f, to) => (to === 'b' ? (bad as number) : 0) });
      expect(run).toThrow(EparaError);
      expect(run).toThrow(/transferMs\(cls, a, b\)/);
    }
  });
});
