import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../ports/random.js';
import { createObjective, type Supply } from './objective.js';
import { referenceGoodput, concreteItems } from './testing/brute-force.js';
import { serviceValue, valueGain, valueLoss } from './value.js';
import { randomPlacementInstance } from './testing/random-instance.js';
import type { PlacementModel } from './model.js';

/** Random supplies of a random instance (resources ignored: G is a set function of supplies). */
function randomSupplies(s: number, count: number, headroom?: { demandHeadroom: number; headroomValue: number }): { model: PlacementModel; supplies: Supply[] } {
  const rng = createSeededRandom(s);
  const plain = randomPlacementInstance(rng, { servers: 4, devicesPerServer: 2, services: 3 });
  const input = headroom ? { ...plain, demandHeadroom: headroom.demandHeadroom } : plain;
  const { model, items } = concreteItems(input, { shareLevels: [1, 0.5, 0.25], ...(headroom ? { headroomValue: headroom.headroomValue } : {}) });
  const supplies = Array.from({ length: count }, () => {
    const it = items[Math.floor(rng.next() * items.length)]!;
    const t = it.template;
    return { service: t.service, server: model.devices[it.devices[0]!]!.server, latencyMs: t.plan.expectedLatencyMs, capacityPerSec: t.foot.capacityPerSec * (0.5 + rng.next()) };
  });
  return { model, supplies };
}

/** Weighted goodput of a set of supplies through the incremental objective. */
function value(model: PlacementModel, locality: boolean, set: readonly Supply[]): number {
  const obj = createObjective(model, locality);
  for (const s of set) obj.add(s);
  return model.services.reduce((v, svc) => v + serviceValue(svc, obj.served(svc.index)), 0);
}

/** Equal up to 1e-6 absolute or 1e-12 of the total value (the floor bonus makes values large). */
function expectClose(got: number, want: number, scale: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(1e-6, 1e-12 * Math.abs(scale)));
}

/** The gain of supply `n` on a subset (`mask`) of the first `n` is at least its gain on all of them, and ≥ 0. */
function expectSubmodularAt(model: PlacementModel, locality: boolean, supplies: readonly Supply[], n: number, mask: number): void {
  const x = supplies[n]!;
  const big = supplies.slice(0, n);
  const small = big.filter((_, i) => (mask >> i) & 1);
  const gSmall = value(model, locality, [...small, x]) - value(model, locality, small);
  const all = value(model, locality, [...big, x]);
  const gBig = all - value(model, locality, big);
  // Float noise grows with the value (the floor bonus makes it large): tolerate 1e-12 of it.
  const tol = Math.max(1e-6, 1e-12 * all);
  expect(gSmall).toBeGreaterThanOrEqual(gBig - tol);
  expect(gBig).toBeGreaterThanOrEqual(-tol);
}

describe('goodput objective', () => {
  it.each([false, true])('is monotone with diminishing returns (locality %s)', (locality) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 0, max: 2 ** 20 }), (s, n, mask) => {
        const { model, supplies } = randomSupplies(s, n + 1);
        expectSubmodularAt(model, locality, supplies, n, mask);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 200) },
    );
  });

  it.each([false, true])('stays monotone with diminishing returns with headroom valued below the forecast (locality %s)', (locality) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.double({ min: 1, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (s, n, mask, demandHeadroom, headroomValue) => {
          const { model, supplies } = randomSupplies(s, n + 1, { demandHeadroom, headroomValue });
          expectSubmodularAt(model, locality, supplies, n, mask);
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 200) },
    );
  });


  it.each([false, true])('incremental gains, additions and removals match a from-scratch max-flow (locality %s)', (locality) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 12 }), fc.array(fc.nat(), { maxLength: 4 }), (s, n, drops) => {
        const { model, supplies } = randomSupplies(s, n);
        const obj = createObjective(model, locality);
        const live = new Map<number, Supply>();
        for (const sup of supplies) {
          const before = referenceGoodput(model, [...live.values()], locality);
          const predicted = valueGain(model.services[sup.service]!, obj.served(sup.service), obj.gain(sup));
          live.set(obj.add(sup), sup);
          expectClose(referenceGoodput(model, [...live.values()], locality) - before, predicted, before);
        }
        for (const d of drops) {
          const handles = [...live.keys()];
          if (handles.length === 0) break;
          const h = handles[d % handles.length]!;
          const k = live.get(h)!.service;
          const loss = valueLoss(model.services[k]!, obj.served(k), obj.removalLoss(h));
          const before = referenceGoodput(model, [...live.values()], locality);
          obj.remove(h);
          live.delete(h);
          expectClose(before - referenceGoodput(model, [...live.values()], locality), loss, before);
        }
        const total = model.services.reduce((v, svc) => v + serviceValue(svc, obj.served(svc.index)), 0);
        expectClose(total, referenceGoodput(model, [...live.values()], locality), total);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
  });
});
