import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../ports/random.js';
import { placeServices } from './place-services.js';
import { midPlacementInstance } from './testing/mid-instance.js';
import { randomPlacementInstance, type RandomInstanceShape } from './testing/random-instance.js';

// What the search after the first greedy pipeline adds: the best-single-item safeguard (`safeguard`) and the restarts
// (`restarts`: after the next-best single items, groups first, after a starved service's items). Each keeps an
// alternative only when it is better, and `stats.usedSafeguard` says whether the safeguard's alternative is the
// result.

const seeded = (seed: number, shape: RandomInstanceShape) => randomPlacementInstance(createSeededRandom(seed), shape);
/** Objectives here are up to about 10⁹ (offered-load values): compare them to a relative 10⁻¹². */
const atLeast = (a: number, b: number): void => expect(a).toBeGreaterThanOrEqual(b - 1e-12 * Math.abs(b));

describe('safeguard and restarts', () => {
  it('never end worse than the plain greedy, and report the safeguard only when it is on', () => {
    const shape = fc.record({
      servers: fc.integer({ min: 1, max: 2 }),
      devicesPerServer: fc.integer({ min: 2, max: 3 }),
      services: fc.integer({ min: 3, max: 4 }),
      groups: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), shape, fc.boolean(), (seed, sh, multiTask) => {
        const input = seeded(seed, sh);
        const plain = placeServices(input, { multiTask, restarts: 0, safeguard: false });
        const safeguardOnly = placeServices(input, { multiTask, restarts: 0 });
        const restartsOnly = placeServices(input, { multiTask, safeguard: false });
        const both = placeServices(input, { multiTask });
        expect(plain.stats.usedSafeguard).toBe(false);
        expect(restartsOnly.stats.usedSafeguard).toBe(false);
        atLeast(safeguardOnly.objective, plain.objective);
        atLeast(restartsOnly.objective, plain.objective);
        atLeast(both.objective, safeguardOnly.objective);
        // The safeguard's alternative is kept only when strictly better.
        if (safeguardOnly.stats.usedSafeguard) expect(safeguardOnly.objective).toBeGreaterThan(plain.objective);
        else expect(safeguardOnly.instances).toEqual(plain.instances);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 25), seed: 20261205 },
    );
  });

  // Seeded instances where each part decides the result (found by comparing the options on random instances).
  it('keeps the best single item and its greedy completion when that beats plain greedy by over 40 %', () => {
    const input = seeded(95, { servers: 1, devicesPerServer: 2, services: 3 });
    const plain = placeServices(input, { restarts: 0, safeguard: false });
    for (const restarts of [0, 'auto'] as const) {
      const r = placeServices(input, { restarts });
      expect(r.stats.usedSafeguard).toBe(true);
      expect(r.objective).toBeGreaterThan(plain.objective * 1.4);
    }
  });

  for (const [seed, shape] of [
    [4, { servers: 2, devicesPerServer: 3, services: 5, groups: true, kinds: ['gpu', 'cpu'] }],
    [9, { servers: 1, devicesPerServer: 3, services: 4, groups: true }],
  ] as const) {
    it(`keeps a restart’s result, not the safeguard’s, where only a restart improves (seed ${seed})`, () => {
      const input = seeded(seed, shape);
      const r = placeServices(input);
      const noRestarts = placeServices(input, { restarts: 0 });
      expect(noRestarts.stats.usedSafeguard).toBe(false);
      expect(r.objective).toBeGreaterThan(noRestarts.objective * 1.1);
      expect(r.stats.usedSafeguard).toBe(false);
      // One restart is enough on these (the groups-first and starved-service restarts run at any count above 0).
      expect(placeServices(input, { restarts: 1 }).objective).toBe(r.objective);
    });
  }
});

describe("restarts: 'auto'", () => {
  // Mid-size instances (the MILP reference's), valued per item without floor or interference: three restarts
  // stopped short on five of seeds 1–24; six reach what eight do (measured before the residual-blocking price,
  // which is off here to keep that instance's problem as it was).
  const weighted = { valueWeighting: 'per-item', minServedShare: 0, colocationSlowdown: 0, switchWeight: 0, residualBlocking: false } as const;
  it('runs six seeded restarts on a mid-size cluster: more than three find', () => {
    const input = midPlacementInstance(24);
    const auto = placeServices(input, weighted).objective;
    // 2.0 % more than three find (3.1 % before re-batching, which lifts three restarts' result from 4 097 to 4 143).
    expect(auto).toBeGreaterThan(placeServices(input, { ...weighted, restarts: 3 }).objective * 1.015);
    expect(auto).toBe(placeServices(input, { ...weighted, restarts: 6 }).objective);
    expect(auto).toBe(placeServices(input, { ...weighted, restarts: 8 }).objective);
  });
});
