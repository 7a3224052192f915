import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { buildPlacement } from './build-placement.js';
import { buildTemplates } from './candidates.js';
import { commitTemplate, createBuildState, runGreedy, type BuildState, type GreedyContext } from './greedy.js';
import { buildPlacementModel } from './model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions } from './options.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// The greedy and the pipeline around it, on clusters small enough to work out by hand, lazy and eager alike. Every
// case: items valued per item with no floor, whole devices (multiTask off, so every item costs 1 a device and a
// multi-device group its device count), no batch variants. A single-device plan serves 8000 / 26 ≈ 307.7 items/s;
// a new item's switching cost is 3000 / 30000 of the demand it takes.

const GB = 1024 ** 3;
const PLAIN = { valueWeighting: 'per-item', minServedShare: 0, multiTask: false, batchVariants: 0 } as const;

const service = (id: string, weightsGb = 1): ServiceSpec => placementService(id, { weightsGb, loadTimeMs: 3000 });
const plan = (s: ServiceSpec, devices = 1) => affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch: 8, devices });
const gpus = (n: number): ServerSpec => ({
  id: 's0',
  devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })),
});
/** One server of `devices` GPUs, one single-device plan per service, demand per service as given. */
const cluster = (devices: number, rates: Record<string, number>): PlacementInput => {
  const services = Object.keys(rates).map((id) => service(id));
  return {
    servers: [gpus(devices)],
    services,
    plans: Object.fromEntries(services.map((s) => [s.id, [plan(s)]])),
    demand: Object.entries(rates).map(([serviceId, r]) => ({ serviceId, ratePerServer: { s0: r } })),
  };
};

function context(input: PlacementInput, options: PlacementOptions): GreedyContext {
  const effective = effectivePlacementOptions(resolvePlacementOptions(options), input);
  const resolved = { ...effective, multiTask: effective.multiTask !== false };
  const model = buildPlacementModel(input, resolved);
  return { model, options: resolved, templates: buildTemplates(model, resolved) };
}
const serviceOf = (ctx: GreedyContext, t: number): string => ctx.model.services[ctx.templates[t]!.service]!.id;
const placed = (ctx: GreedyContext, state: BuildState): string[] =>
  state.chosen.filter((c) => !c.removed).map((c) => `${ctx.model.services[c.service]!.id}@${c.devices.map((d) => ctx.model.devices[d]!.id).join('+')}`);

describe.each([true, false])('runGreedy (lazy: %s)', (lazy) => {
  it('commits the best gain per cost first and reports the single items by net gain, best first', () => {
    // Nets on the empty cluster: a 300 − 30 = 270, b 200 − 20 = 180, c 100 − 10 = 90; each takes a device.
    const ctx = context(cluster(3, { c: 100, b: 200, a: 300 }), { ...PLAIN, lazy });
    expect(ctx.templates.map((_, t) => serviceOf(ctx, t))).toEqual(['c', 'b', 'a']);
    const state = createBuildState(ctx);
    expect(runGreedy(ctx, state)).toEqual([2, 1, 0]);
    expect(placed(ctx, state)).toEqual(['a@g0', 'b@g1', 'c@g2']);
  });

  it('breaks a tie by template order: the first service gets the only device', () => {
    const ctx = context(cluster(1, { x: 100, y: 100 }), { ...PLAIN, lazy });
    const state = createBuildState(ctx);
    expect(runGreedy(ctx, state)).toEqual([0, 1]);
    expect(placed(ctx, state)).toEqual(['x@g0']);
  });

  it('ranks the single items of equal net gain by template order, whatever the demand order', () => {
    // Four services: two pairs of equal nets (180 and 90), listed low, high, low, high.
    const ctx = context(cluster(4, { p: 100, q: 200, r: 100, s: 200 }), { ...PLAIN, lazy });
    const state = createBuildState(ctx);
    expect(runGreedy(ctx, state)).toEqual([1, 3, 0, 2]);
    expect(placed(ctx, state)).toEqual(['q@g0', 's@g1', 'p@g2', 'r@g3']);
  });

  it('adds nothing that gains exactly epsilon, and does not report it', () => {
    // Without a switching cost, a second instance of a served service gains exactly 0: with epsilon 0 it is not
    // worth adding (the test is net > epsilon), and it is no single item either.
    const ctx = context(cluster(2, { a: 100 }), { ...PLAIN, lazy, switchWeight: 0, epsilon: 0 });
    const state = createBuildState(ctx);
    commitTemplate(ctx, state, ctx.templates[0]!, [0]);
    expect(runGreedy(ctx, state)).toEqual([]);
    expect(placed(ctx, state)).toEqual(['a@g0']);
  });

  it('stops adding instances of a service once another would gain exactly epsilon', () => {
    const ctx = context(cluster(2, { a: 100 }), { ...PLAIN, lazy, switchWeight: 0, epsilon: 0 });
    const state = createBuildState(ctx);
    expect(runGreedy(ctx, state)).toEqual([0]);
    expect(placed(ctx, state)).toEqual(['a@g0']);
  });

  it('considers only the templates `only` admits', () => {
    const ctx = context(cluster(3, { c: 100, b: 200, a: 300 }), { ...PLAIN, lazy });
    const state = createBuildState(ctx);
    expect(runGreedy(ctx, state, (t) => serviceOf(ctx, t.index) === 'b')).toEqual([1]);
    expect(placed(ctx, state)).toEqual(['b@g0']);
  });
});

describe('buildPlacement', () => {
  // g needs both devices at once (500 items/s of ≈ 615); c and d serve 300 each on one device. Plain greedy takes
  // c and d (gain per device ≈ 270 against g's (500 − 50) / 2 = 225).
  const [g, c, d] = [service('g', 10), service('c', 10), service('d', 10)];
  const groupInput: PlacementInput = {
    servers: [gpus(2)],
    services: [g, c, d],
    plans: { g: [plan(g, 2)], c: [plan(c)], d: [plan(d)] },
    demand: [
      { serviceId: 'g', ratePerServer: { s0: 500 } },
      { serviceId: 'c', ratePerServer: { s0: 300 } },
      { serviceId: 'd', ratePerServer: { s0: 300 } },
    ],
  };

  for (const multiTask of [true, false]) {
    it(`places multi-device groups first when asked, and only them first (multiTask ${multiTask})`, () => {
      const ctx = context(groupInput, { ...PLAIN, multiTask });
      expect(placed(ctx, buildPlacement(ctx, []).state)).toEqual(['c@g0', 'd@g1']);
      expect(placed(ctx, buildPlacement(ctx, [], -1, { greedy: true, groupsFirst: true }).state)).toEqual(['g@g0+g1']);
    });
  }

  it('places only the seed without greedy', () => {
    const ctx = context(cluster(3, { c: 100, b: 200, a: 300 }), PLAIN);
    const out = buildPlacement(ctx, [], 0, { greedy: false });
    expect(placed(ctx, out.state)).toEqual(['c@g0']);
    expect(out.singles).toEqual([]);
  });

  it('reports the single items of the first greedy round, though a later round runs', () => {
    // X on the CPU (≈ 307.7 items/s, net 276.9), Y data-parallel on both GPUs (≈ 615.4, net 360 over 2 devices)
    // for 400 items/s: greedy adds X, then Y; the prune removes X (Y covers its goodput), so a second round runs
    // and finds nothing to add. The singles are the first round's: Y (360), then X (276.9).
    const a = service('a');
    const input: PlacementInput = {
      servers: [{ id: 's0', devices: [{ id: 'c0', kind: 'cpu', memoryBytes: 16 * GB }, ...gpus(2).devices] }],
      services: [a],
      plans: { a: [affinePlan(a, 'cpu', { fixedMs: 10, perItemMs: 2, batch: 8 }), plan(a, 2)] },
      demand: [{ serviceId: 'a', ratePerServer: { s0: 400 } }],
    };
    const ctx = context(input, PLAIN);
    const out = buildPlacement(ctx, []);
    expect(placed(ctx, out.state)).toEqual(['a@g0+g1']);
    expect(out.pruned).toBe(1);
    expect(out.singles.map((t) => ctx.templates[t]!.plan.deviceKind)).toEqual(['gpu', 'cpu']);
  });

  it('stops after the first round that changes nothing', () => {
    // One service, one device: greedy evaluates the item (1), again at the top of the heap (2), commits it, and
    // once more (3) to find nothing left; the passes after it change nothing, so no second round runs.
    const ctx = context(cluster(1, { a: 100 }), PLAIN);
    const out = buildPlacement(ctx, []);
    expect(placed(ctx, out.state)).toEqual(['a@g0']);
    expect(out.state.evaluations).toBe(3);
    expect(out.state.objective.served(0)).toBeCloseTo(100, 9);
  });
});
