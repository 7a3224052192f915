import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../ports/random.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { gpuServer, placementService } from '../testing/placement-fixture.js';
import { placeServices } from './place-services.js';
import { affinePlan, randomPlacementInstance, type RandomInstanceShape } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// What placeServices adds around the greedy pipeline, each case on an instance where that part decides the result:
// the shortage estimate's rule, the knapsack safeguard as an option, the restarts (the next-best single items, groups
// first, the services the result leaves short) and the devices of the change plan's items.

const seeded = (seed: number, shape: RandomInstanceShape): PlacementInput => randomPlacementInstance(createSeededRandom(seed), shape);

describe("the shortage estimate keeps floors by load only where they predict over 2 % more", () => {
  it('keeps the options as given where nothing can be placed (neither placement predicts an item)', () => {
    // The only plan needs 20 GB; the devices have 16. Both placements serve 0 items: 0 is not 2 % more than 0.
    const llm = placementService('llm', { weightsGb: 20, profiles: { gpu: affineProfile('gpu', { fixedMs: 20, perItemMs: 5, maxBatch: 8 }) } });
    const input: PlacementInput = {
      servers: [gpuServer('s0', 2)],
      services: [llm],
      plans: { llm: [affinePlan(llm, 'gpu', { fixedMs: 20, perItemMs: 5, batch: 4 })] },
      demand: [{ serviceId: 'llm', ratePerServer: { s0: 50 } }],
    };
    const r = placeServices(input, { multiTask: 'auto', shortage: 'estimate' });
    expect(r.instances).toEqual([]);
    expect(r.goodputPerSec).toBe(0);
    expect(r.stats.shortage).toBe('as-given');
  });
});

describe('the knapsack safeguard (`safeguard`)', () => {
  // Seed 95: the best single item and its greedy completion beat plain greedy by over 40 % (restarts.cases.test.ts).
  const input = seeded(95, { servers: 1, devicesPerServer: 2, services: 3 });

  it('is not tried when off, even where it would win', () => {
    const on = placeServices(input, { restarts: 0 });
    const off = placeServices(input, { restarts: 0, safeguard: false });
    expect(on.stats.usedSafeguard).toBe(true);
    expect(off.stats.usedSafeguard).toBe(false);
    expect(on.objective).toBeGreaterThan(off.objective * 1.4);
  });
});

describe('the starved-service restarts', () => {
  // Seeded instances (found by comparing the result with and without these restarts over 2,000 random ones) where
  // greedy's order crowds a service out and no other restart repairs it: the restart that places one of the short
  // service's items first finds over 5 % more value than no restart at all, and one restart is enough (the
  // starved-service restarts run at any count above 0). On seed 36 the seed that wins is the short service's item of
  // the highest gain, on the others its item of the best gain per cost.
  const SHAPES = {
    fourServices: { servers: 1, devicesPerServer: 3, services: 4, groups: true },
    fiveServices: { servers: 2, devicesPerServer: 2, services: 5, groups: true },
    sixServices: { servers: 2, devicesPerServer: 3, services: 6, groups: true, kinds: ['gpu', 'cpu'] },
    threeServers: { servers: 3, devicesPerServer: 1, services: 6 },
  } as const;
  for (const [seed, shape, multiTask] of [
    [8, SHAPES.threeServers, true],
    [12, SHAPES.threeServers, true],
    [22, SHAPES.fiveServices, true],
    [23, SHAPES.threeServers, true],
    [36, SHAPES.sixServices, true],
    [60, SHAPES.fiveServices, true],
    [75, SHAPES.fiveServices, true],
    [77, SHAPES.sixServices, false],
  ] as const) {
    it(`a restart from a short service's item finds what greedy's order misses (seed ${seed}, ${shape.servers} × ${shape.devicesPerServer} devices, ${shape.services} services)`, () => {
      const input = seeded(seed, shape);
      const none = placeServices(input, { multiTask, restarts: 0 });
      const one = placeServices(input, { multiTask, restarts: 1 });
      const auto = placeServices(input, { multiTask });
      expect(one.objective).toBeGreaterThan(none.objective * 1.05);
      expect(auto.objective).toBeGreaterThanOrEqual(one.objective);
      expect(auto.stats.usedSafeguard).toBe(false);
    });
  }
});
