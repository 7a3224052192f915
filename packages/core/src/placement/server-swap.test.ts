import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EparaError } from '../errors/epara-error.js';
import { createSeededRandom } from '../ports/random.js';
import { findPlacementViolations } from './find-violations.js';
import { OBJECTIVE_NOISE } from './greedy.js';
import type { PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { randomPlacementInstance } from './testing/random-instance.js';
import { contest, image, plan, serverOf, slack } from './testing/slack-contest.js';
import type { PlacementInput } from './types.js';

const opts: PlacementOptions = { multiTask: false };

describe('serverSwap: a local search that gives a contested server to the service whose items fit there', () => {
  it('swaps the hot spot’s server from the service whose items fit nowhere to the one whose items fit only there', () => {
    const input = { ...contest, arrivalSlackMs: slack };
    const before = placeServices(input, opts);
    // Both services are nearest `hot`; `image` comes first (template order) and takes it.
    expect(serverOf(before, 'image')).toEqual(['hot']);
    expect(serverOf(before, 'video')).toEqual(['far']);
    const after = placeServices(input, { ...opts, serverSwap: true });
    expect(serverOf(after, 'image')).toEqual(['far']);
    expect(serverOf(after, 'video')).toEqual(['hot']);
    expect(after.stats.swaps).toMatchObject({ accepted: 1 });
    // The objective values both alike: it does not move, and every constraint holds.
    expect(after.objective).toBe(before.objective);
    expect(after.goodputPerSec).toBe(before.goodputPerSec);
    expect(findPlacementViolations(input, after.instances, opts)).toEqual([]);
    // The change plan loads the swapped instances where they now are.
    expect(after.changes.filter((c) => c.action === 'load').map((c) => `${c.serviceId}@${c.serverId}`).sort()).toEqual(['image@far', 'video@hot']);
    // Fed back unchanged, nothing moves (kept instances never do).
    expect(placeServices({ ...input, current: after.instances }, { ...opts, serverSwap: true }).changes).toEqual([]);
  });

  it('tries the next step after one that does not fit (the move to a full server), on the placement as it is', () => {
    // `image`'s hot-spot items now arrive with 20 ms left: they fit at `hot` (60 items/s there, 40 at `far`), so
    // the swap gains less (video +60, image −20) than moving `video` alone to `hot` (+60), which does not fit
    // (`hot` has one GPU): the move is tried first and fails, then the swap is kept.
    const input = { ...contest, arrivalSlackMs: { ...slack, image: { hot: [20], far: [30] } } };
    const after = placeServices(input, { ...opts, serverSwap: true });
    expect(serverOf(after, 'image')).toEqual(['far']);
    expect(serverOf(after, 'video')).toEqual(['hot']);
    expect(after.stats.swaps).toMatchObject({ accepted: 1 });
    expect(after.stats.swaps!.trials).toBeGreaterThanOrEqual(2);
    expect(after.instances).toHaveLength(2);
    expect(findPlacementViolations(input, after.instances, opts)).toEqual([]);
  });

  it('without slack, moves an instance nearer its demand when room is free (the round trip breaks the tie)', () => {
    // One service, both servers reach all its demand; without `nearDemandFirst` the greedy takes server order (`far`).
    const one: PlacementInput = { ...contest, services: [image], plans: { image: [plan(image)] }, demand: [contest.demand[0]!] };
    const o: PlacementOptions = { ...opts, nearDemandFirst: false };
    expect(serverOf(placeServices(one, o), 'image')).toEqual(['far']);
    const moved = placeServices(one, { ...o, serverSwap: true });
    expect(serverOf(moved, 'image')).toEqual(['hot']);
    expect(moved.stats.swaps).toMatchObject({ accepted: 1 });
    // Without slack and with `nearDemandFirst` (the default) the greedy already placed it there: no step.
    expect(placeServices(one, { ...opts, serverSwap: true }).stats.swaps).toMatchObject({ accepted: 0 });
  });

  it('does nothing without locality, and is off by default', () => {
    const input = { ...contest, arrivalSlackMs: slack };
    const { stats: off, ...plain } = placeServices(input, { ...opts, locality: false });
    const { stats: on, ...swapped } = placeServices(input, { ...opts, locality: false, serverSwap: true });
    expect(swapped).toEqual(plain);
    expect(on.swaps).toEqual({ accepted: 0, trials: 0, scored: 0 });
    expect(off.swaps).toBeUndefined();
    expect(placeServices(input, opts)).toEqual(placeServices(input, { ...opts, serverSwap: false }));
    expect(() => placeServices(contest, { serverSwap: 'yes' as unknown as boolean })).toThrow(EparaError);
  });
});

/** Random slack per service and access server: one to four values between −10 % and 120 % of the SLO. */
function randomSlack(input: PlacementInput, seed: number): NonNullable<PlacementInput['arrivalSlackMs']> {
  const rng = createSeededRandom(seed);
  const out: Record<string, Record<string, number[]>> = {};
  for (const s of input.services) {
    const slo = s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs;
    out[s.id] = Object.fromEntries(
      input.servers.map((srv) => [
        srv.id,
        Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => slo * (rng.next() * 1.3 - 0.1)).sort((a, b) => a - b),
      ]),
    );
  }
  return out;
}

describe('serverSwap, seeded random instances', () => {
  const shape = fc.record({
    servers: fc.integer({ min: 2, max: 5 }),
    devicesPerServer: fc.integer({ min: 1, max: 3 }),
    services: fc.integer({ min: 2, max: 5 }),
    groups: fc.boolean(),
    kinds: fc.constantFrom(['gpu'], ['gpu', 'cpu']),
  });
  const options: fc.Arbitrary<PlacementOptions> = fc.record({
    multiTask: fc.constantFrom(true, false, 'auto' as const),
    valueWeighting: fc.constantFrom('offered-load' as const, 'per-item' as const),
    nearDemandFirst: fc.boolean(),
  });

  it('never lowers the objective and never violates a constraint', () => {
    let steps = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), shape, options, fc.boolean(), (seed, sh, o, withSlack) => {
        const base = randomPlacementInstance(createSeededRandom(seed), sh);
        const input = withSlack ? { ...base, arrivalSlackMs: randomSlack(base, seed) } : base;
        const plain = placeServices(input, o);
        const swapped = placeServices(input, { ...o, serverSwap: true });
        expect(swapped.objective).toBeGreaterThanOrEqual(plain.objective - 1e3 * OBJECTIVE_NOISE * Math.abs(plain.objective) - 1e-9);
        expect(findPlacementViolations(input, swapped.instances, o)).toEqual([]);
        // Only servers change: the same services, plans and shares are placed, as many of each.
        const key = (r: typeof plain): string[] => r.instances.map((i) => `${i.serviceId}/${i.plan.batchSize}/${i.plan.devices}/${i.capacityPerSec}`).sort();
        expect(key(swapped)).toEqual(key(plain));
        steps += swapped.stats.swaps!.accepted;
      }),
      { numRuns: 40, seed: 20261206 },
    );
    // The property is not vacuous: some instances did swap or move.
    expect(steps).toBeGreaterThan(0);
  });
});
