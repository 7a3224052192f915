import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../ports/random.js';
import { createObjective, type Supply } from './objective.js';
import { concreteItems, referenceGoodput } from './testing/brute-force.js';
import { randomPlacementInstance } from './testing/random-instance.js';
import { serviceValue, valueGain, valueLoss } from './value.js';

// The locality objective on clusters larger than its first buffers (16 instances of a service, 16 access
// servers): every gain, addition and removal against a max-flow computed from scratch by the reference
// (testing/brute-force.ts), as objective.property.test.ts does on four servers.

/** Equal up to 1e-6 absolute or 1e-12 of the total value (the floor bonus makes values large). */
const expectClose = (got: number, want: number, scale: number): void => {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.max(1e-6, 1e-12 * Math.abs(scale)));
};

describe('locality objective on a large cluster', () => {
  it.each([1, 4, 5])('matches the from-scratch max-flow through 40 additions and 20 removals (seed %i)', (seed) => {
    const rng = createSeededRandom(seed);
    const input = randomPlacementInstance(rng, { servers: 30, devicesPerServer: 2, services: 2 });
    const { model, items } = concreteItems(input, { shareLevels: [1, 0.5, 0.25] });
    const access = model.services.map((s) => s.access.length);
    expect(Math.max(...access)).toBeGreaterThan(16);
    const obj = createObjective(model, true);
    const live = new Map<number, Supply>();
    const total = () => model.services.reduce((v, svc) => v + serviceValue(svc, obj.served(svc.index)), 0);
    // Most supplies go to the first service, so it holds far more than 16 instances; each claims 20–70 % of its
    // template's rate, so some demand stays unserved and some instances keep room: additions and removals then
    // reroute flow along paths through many instances (the seeds are ones where they do).
    for (let n = 0; n < 40; n++) {
      const pool = items.filter((it) => it.template.service === (n % 4 === 3 ? 1 : 0));
      const it = pool[Math.floor(rng.next() * pool.length)]!;
      const t = it.template;
      const sup: Supply = { service: t.service, server: model.devices[it.devices[0]!]!.server, latencyMs: t.plan.expectedLatencyMs, capacityPerSec: t.foot.capacityPerSec * (0.2 + 0.5 * rng.next()) };
      const before = referenceGoodput(model, [...live.values()], true);
      const predicted = valueGain(model.services[sup.service]!, obj.served(sup.service), obj.gain(sup));
      live.set(obj.add(sup), sup);
      expectClose(referenceGoodput(model, [...live.values()], true) - before, predicted, before);
    }
    expectClose(total(), referenceGoodput(model, [...live.values()], true), total());
    for (let n = 0; n < 20; n++) {
      const handles = [...live.keys()];
      const h = handles[Math.floor(rng.next() * handles.length)]!;
      const k = live.get(h)!.service;
      const loss = valueLoss(model.services[k]!, obj.served(k), obj.removalLoss(h));
      const before = referenceGoodput(model, [...live.values()], true);
      obj.remove(h);
      live.delete(h);
      expectClose(before - referenceGoodput(model, [...live.values()], true), loss, before);
    }
    expectClose(total(), referenceGoodput(model, [...live.values()], true), total());
  });
});
