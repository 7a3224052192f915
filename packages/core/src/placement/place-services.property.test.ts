import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../ports/random.js';
import { findPlacementViolations } from './find-violations.js';
import type { PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { bruteForceOptimum, smallRandomInstance } from './testing/brute-force.js';
import { randomPlacementInstance } from './testing/random-instance.js';
import { statefulScenario } from './testing/scenarios.js';

const seed = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const shape = fc.record({
  servers: fc.integer({ min: 1, max: 5 }),
  devicesPerServer: fc.integer({ min: 1, max: 4 }),
  services: fc.integer({ min: 1, max: 7 }),
  groups: fc.boolean(),
  kinds: fc.constantFrom(['gpu'], ['gpu', 'cpu']),
});
const options: fc.Arbitrary<PlacementOptions> = fc.record({
  locality: fc.boolean(),
  multiTask: fc.boolean(),
  switchWeight: fc.constantFrom(0, 1, 5),
  shareLevels: fc.constantFrom([1], [1, 0.5], [1, 0.5, 0.25]),
  costModel: fc.constantFrom('resource' as const, 'unit' as const),
  lazy: fc.boolean(),
  safeguard: fc.boolean(),
});

describe('placeServices properties', () => {
  it('every constraint holds on random stateful instances with failures', () => {
    fc.assert(
      fc.property(seed, shape, options, fc.constantFrom(0, 0.2), (s, sh, opts, failP) => {
        const input = statefulScenario(s, sh, opts, failP);
        const r = placeServices(input, opts);
        expect(findPlacementViolations(input, r.instances, opts)).toEqual([]);
        for (const svc of r.services) {
          expect(svc.servedPerSec).toBeLessThanOrEqual(svc.demandPerSec * (1 + 1e-9) + 1e-9);
          expect(svc.servedPerSec).toBeLessThanOrEqual(svc.capacityPerSec * (1 + 1e-9) + 1e-9);
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
  });

  it('makes no changes when run again on its own output (no churn)', () => {
    fc.assert(
      fc.property(seed, shape, options, (s, sh, opts) => {
        const input = statefulScenario(s, sh, opts, 0.1);
        const first = placeServices(input, opts);
        const second = placeServices({ ...input, current: first.instances }, opts);
        expect(second.changes).toEqual([]);
        expect(second.instances).toEqual(first.instances);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 120) },
    );
  });

  it('after a failure, frees lost instances at once and keeps at least the surviving goodput', () => {
    fc.assert(
      fc.property(seed, shape, fc.boolean(), (s, sh, locality) => {
        const opts = { locality };
        const rng = createSeededRandom(s);
        const input = randomPlacementInstance(rng, sh);
        const before = placeServices(input, opts);
        const victim = before.instances[Math.floor(rng.next() * before.instances.length)];
        if (!victim) return;
        const servers = input.servers.map((sv) =>
          sv.id !== victim.serverId ? sv : { ...sv, devices: sv.devices.map((d) => (d.id === victim.deviceIds[0] ? { ...d, healthy: false } : d)) },
        );
        const failed = { ...input, servers };
        const survivors = before.instances.filter((i) => !(i.serverId === victim.serverId && i.deviceIds.includes(victim.deviceIds[0]!)));
        const frozen = placeServices({ ...failed, current: survivors }, { ...opts, switchWeight: 1e9 });
        const after = placeServices({ ...failed, current: before.instances }, opts);
        expect(findPlacementViolations(failed, after.instances, opts)).toEqual([]);
        // Re-placement starts from the survivors and only adds what pays: its objective (weighted goodput minus
        // switching cost) is never worse than keeping the survivors alone.
        expect(frozen.switchCost).toBe(0);
        expect(after.objective).toBeGreaterThanOrEqual(frozen.objective - 1e-6);
        const lost = before.instances.filter((i) => !survivors.includes(i));
        for (const l of lost) {
          expect(after.changes.filter((c) => c.instanceId === l.instanceId).map((c) => c.action)).toEqual(['free']);
          expect(after.instances.some((i) => i.instanceId === l.instanceId)).toBe(false);
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 80) },
    );
  });

  it('meets its proven bound and, with default restarts, ≥ (1 − 1/e) of the brute-force optimum on small instances', () => {
    const ratios: number[] = [];
    fc.assert(
      fc.property(
        seed,
        fc.record({ servers: fc.integer({ min: 1, max: 2 }), devicesPerServer: fc.integer({ min: 1, max: 2 }), services: fc.integer({ min: 2, max: 3 }), groups: fc.boolean() }),
        fc.record({
          locality: fc.boolean(),
          multiTask: fc.boolean(),
          shareLevels: fc.constantFrom([1], [1, 0.5]),
          batchVariants: fc.constantFrom(0, 1),
          costModel: fc.constantFrom('resource' as const, 'unit' as const),
          // 0 checks plain lazy greedy + safeguard; 'auto' adds seeded restarts on instances this small.
          restarts: fc.constantFrom(0, 'auto' as const),
        }),
        (s, sh, o) => {
          const opts: PlacementOptions = { ...o, switchWeight: 0 };
          const input = smallRandomInstance(s, sh, opts, 12);
          const opt = bruteForceOptimum(input, opts);
          const result = placeServices(input, opts);
          const greedy = result.objective;
          expect(greedy).toBeLessThanOrEqual(opt.value * (1 + 1e-9) + 1e-9);
          const ratio = opt.value > 0 ? greedy / opt.value : 1;
          // The proven bound, where one applies (partition matroid 1/2, p-system 1/(p+1)).
          if (result.guarantee.ratio !== null) expect(ratio).toBeGreaterThanOrEqual(result.guarantee.ratio - 1e-9);
          if (o.restarts === 'auto') {
            ratios.push(ratio);
            // Observed, not proven: with seeded restarts greedy reaches 1 − 1/e on every small instance we have
            // generated (all optimal: this property's cases, and 1900 more drawn offline). Plain greedy
            // (restarts 0) does not: three of this property's cases end at 0.50 of the optimum (1 − 1/e is not
            // asserted for it; where a bound applies, ½ for a partition matroid, it is met), and the bench's 200
            // instances show 0.50 too (docs/placement.md).
            expect(ratio).toBeGreaterThanOrEqual(1 - 1 / Math.E);
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    // The measured mean with default options (also printed by `pnpm bench:placement`).
    expect(ratios.length).toBeGreaterThan(0);
    expect(mean).toBeGreaterThan(0.9);
  });
});
