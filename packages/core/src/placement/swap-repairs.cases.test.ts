import { describe, expect, it } from 'vitest';
import type { ParallelPlan } from '../allocation/plan.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { placementService } from '../testing/placement-fixture.js';
import { buildTemplates, footprintOf } from './candidates.js';
import { evictForStarved } from './evict-swap.js';
import { commitItem, createBuildState, type BuildState, type GreedyContext } from './greedy.js';
import { repairForGroups } from './group-repair.js';
import { buildPlacementModel } from './model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions } from './options.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// The two eviction passes of a greedy round, each called on a build state set up by hand: the single-item swap
// (`evictForStarved`) and the group swap (`repairForGroups`). Each returns how many swaps it made, which the pipeline
// reads to decide whether another round is due, so the counts are asserted with the items. Figures are exact: a
// batch of 8 runs 2 + 8 · 1 = 10 ms, 800 items/s a device (1,600 for a group of two, 2,400 of three); 10 GB of
// weights on 16 GB devices, so one instance a device; items valued one per item/s (no floor); no switching cost
// unless a case says so.

const GB = 1024 ** 3;
const BASE: PlacementOptions = { valueWeighting: 'per-item', minServedShare: 0, switchWeight: 0, colocationSlowdown: 0, batchVariants: 0 };

const gpus = (id: string, n: number, cpus = 0): ServerSpec => ({
  id,
  devices: [
    ...Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })),
    ...Array.from({ length: cpus }, (_, d) => ({ id: `c${d}`, kind: 'cpu', memoryBytes: 16 * GB })),
  ],
});

interface Svc {
  readonly id: string;
  /** Devices of each of its plans. @default [1] */
  readonly groups?: number[];
  readonly demand: Record<string, number>;
  readonly loadTimeMs?: number;
  /** Device kind of its plans. @default 'gpu' */
  readonly kind?: string;
}

interface Setup {
  readonly ctx: GreedyContext;
  readonly state: BuildState;
  readonly plans: ReadonlyMap<string, ParallelPlan[]>;
}

function setup(servers: ServerSpec[], services: Svc[], options: PlacementOptions = {}): Setup {
  const specs: ServiceSpec[] = services.map((s) => placementService(s.id, { weightsGb: 10, loadTimeMs: s.loadTimeMs ?? 0 }));
  const plans = new Map(specs.map((spec, i) => [spec.id, (services[i]!.groups ?? [1]).map((devices) => affinePlan(spec, services[i]!.kind ?? 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8, devices }))]));
  const input: PlacementInput = {
    servers,
    services: specs,
    plans: Object.fromEntries(plans),
    demand: services.map((s) => ({ serviceId: s.id, ratePerServer: s.demand })),
  };
  const effective = effectivePlacementOptions(resolvePlacementOptions({ ...BASE, ...options }), input);
  const resolved = { ...effective, multiTask: effective.multiTask !== false };
  const model = buildPlacementModel(input, resolved);
  const ctx: GreedyContext = { model, options: resolved, templates: buildTemplates(model, resolved) };
  return { ctx, state: createBuildState(ctx), plans };
}

/** Places a new single-device item of `service` claiming `claim` items/s on `server:device`, with its switching cost. */
function put({ ctx, state, plans }: Setup, service: string, at: string, claim = 800, penalty = 0): void {
  const [serverId, deviceId] = at.split(':') as [string, string];
  const device = ctx.model.deviceIndex.get(`${ctx.model.serverIndex.get(serverId)}:${deviceId}`)!;
  const k = ctx.model.serviceIndex.get(service)!;
  const plan = plans.get(service)![0]!;
  const foot = footprintOf(ctx.model.services[k]!, plan, claim, true);
  commitItem(state, { template: null, current: null, service: k, plan, devices: [device], foot, penalty }, claim, ctx);
}

/** The live items, `service@server:devices`, in placement order. */
const live = ({ ctx, state }: Setup): string[] =>
  state.chosen
    .filter((c) => !c.removed)
    .map((c) => {
      const devices = c.devices.map((d) => ctx.model.devices[d]!);
      return `${ctx.model.services[c.service]!.id}@${ctx.model.servers[devices[0]!.server]!.id}:${devices.map((d) => d.id).join('+')}`;
    });
const served = ({ ctx, state }: Setup, id: string): number => state.objective.served(ctx.model.serviceIndex.get(id)!);

describe('evictForStarved: one item evicted for a starving service', () => {
  it('makes at most 32 swaps a call, however many would pay', () => {
    // 40 devices, each held by a service that loses 1 item/s when evicted; s gains 800 on each.
    const n = 40;
    const victims: Svc[] = Array.from({ length: n }, (_, i) => ({ id: `v${i}`, demand: { s0: 1 } }));
    const s = setup([gpus('s0', n)], [{ id: 's', demand: { s0: 800 * n } }, ...victims]);
    victims.forEach((v, i) => put(s, v.id, `s0:g${i}`));
    expect(evictForStarved(s.ctx, s.state)).toBe(32);
    expect(served(s, 's')).toBe(32 * 800);
    expect(live(s).filter((x) => x.startsWith('v'))).toHaveLength(n - 32);
    // The next call goes on where it stopped.
    expect(evictForStarved(s.ctx, s.state)).toBe(n - 32);
    expect(served(s, 's')).toBe(n * 800);
  });

  it('counts the switching cost an evicted new item refunds: it was never loaded', () => {
    // v's item serves 300 and cost 300 × 20 / 30 = 200 to load: evicting it loses 300 − 200 = 100, less than the
    // 250 s gains (s loads in no time). Without the refund it would lose 300.
    const s = setup([gpus('s0', 1)], [{ id: 's', demand: { s0: 250 } }, { id: 'v', demand: { s0: 300 }, loadTimeMs: 20_000 }], { switchWeight: 1 });
    put(s, 'v', 's0:g0', 300, 200);
    expect(evictForStarved(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['s@s0:g0']);
    expect([served(s, 's'), served(s, 'v')]).toEqual([250, 0]);
  });

  it('evicts the first placed of victims that cost the same', () => {
    // Three services of equal loss, placed on g2, g0, g1 in that order: s needs one device.
    const s = setup(
      [gpus('s0', 3)],
      [
        { id: 's', demand: { s0: 800 } },
        { id: 'x', demand: { s0: 100 } },
        { id: 'y', demand: { s0: 100 } },
        { id: 'z', demand: { s0: 100 } },
      ],
    );
    put(s, 'x', 's0:g2');
    put(s, 'y', 's0:g0');
    put(s, 'z', 's0:g1');
    expect(evictForStarved(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['y@s0:g0', 'z@s0:g1', 's@s0:g2']);
  });
});

describe('evictForStarved: the victims tried', () => {
  it('tries the 64 cheapest victims at most', () => {
    // s (gpu only) gains 800 on the one gpu, held by v (evicting it loses 100). 64 cpu devices hold w's instances,
    // each of which loses 50 when evicted (w's demand is 50 above 63 of them), so they come first, and no s fits
    // on a cpu: v, the 65th, is not tried.
    const s = setup(
      [gpus('s0', 1, 64)],
      [
        { id: 's', demand: { s0: 800 } },
        { id: 'v', demand: { s0: 100 } },
        { id: 'w', kind: 'cpu', demand: { s0: 63 * 800 + 50 } },
      ],
    );
    put(s, 'v', 's0:g0');
    for (let d = 0; d < 64; d++) put(s, 'w', `s0:c${d}`);
    expect(evictForStarved(s.ctx, s.state)).toBe(0);
    expect(live(s)[0]).toBe('v@s0:g0');
    expect([served(s, 's'), served(s, 'v'), served(s, 'w')]).toEqual([0, 100, 63 * 800 + 50]);
  });

  it('tries v when fewer cheaper victims come before it', () => {
    // The same with 63 of w's instances (demand 62 × 800 + 50: each still loses 50 when evicted): v comes 64th, and
    // is tried.
    const s = setup(
      [gpus('s0', 1, 63)],
      [
        { id: 's', demand: { s0: 800 } },
        { id: 'v', demand: { s0: 100 } },
        { id: 'w', kind: 'cpu', demand: { s0: 62 * 800 + 50 } },
      ],
    );
    put(s, 'v', 's0:g0');
    for (let d = 0; d < 63; d++) put(s, 'w', `s0:c${d}`);
    expect(evictForStarved(s.ctx, s.state)).toBe(1);
    expect(live(s).at(-1)).toBe('s@s0:g0');
    expect([served(s, 's'), served(s, 'v')]).toEqual([800, 0]);
  });
});

describe('repairForGroups: a server cleared for a starving group', () => {
  it('makes at most 16 group swaps a call, however many would pay', () => {
    // 20 servers of two devices, each device held by a service that loses 1 item/s when evicted; g gains 1,600 on each server.
    const n = 20;
    const servers = Array.from({ length: n }, (_, i) => gpus(`s${i}`, 2));
    const victims: Svc[] = Array.from({ length: 2 * n }, (_, i) => ({ id: `v${i}`, demand: { s0: 1 } }));
    const s = setup(servers, [{ id: 'g', groups: [2], demand: { s0: 1600 * n } }, ...victims]);
    victims.forEach((v, i) => put(s, v.id, `s${Math.floor(i / 2)}:g${i % 2}`));
    expect(repairForGroups(s.ctx, s.state)).toBe(16);
    expect(served(s, 'g')).toBe(16 * 1600);
    expect(live(s).filter((x) => x.startsWith('v'))).toHaveLength(2 * (n - 16));
    expect(repairForGroups(s.ctx, s.state)).toBe(n - 16);
  });

  it('reports no swap when the only clearing loses what the group gains', () => {
    // c's two instances lose 200 each alone but 1,000 together; g would gain 1,000.
    const s = setup([gpus('s0', 2)], [{ id: 'g', groups: [2], demand: { s0: 1000 } }, { id: 'c', demand: { s0: 1000 } }]);
    put(s, 'c', 's0:g0');
    put(s, 'c', 's0:g1');
    expect(repairForGroups(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['c@s0:g0', 'c@s0:g1']);
    expect(served(s, 'c')).toBe(1000);
  });

  it('leaves a group that fits on free devices to the greedy', () => {
    const s = setup([gpus('s0', 2)], [{ id: 'g', groups: [2], demand: { s0: 1000 } }]);
    expect(repairForGroups(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual([]);
  });

  it('tries the 24 cheapest-looking servers at most', () => {
    // Servers s0…s23 each hold two instances of one service (c0…c23) that serves 1,000: clearing one looks like 400
    // (200 each alone) but loses 1,000, more than the 950 g gains. s24 holds d and e, 450 each: 900 to clear, which
    // pays, but it looks dearer than the other 24 and is not tried.
    const cheap = Array.from({ length: 24 }, (_, i) => `c${i}`);
    const s = setup(
      Array.from({ length: 25 }, (_, i) => gpus(`s${i}`, 2)),
      [{ id: 'g', groups: [2], demand: { s0: 950 } }, ...cheap.map((id) => ({ id, demand: { s0: 1000 } })), { id: 'd', demand: { s0: 450 } }, { id: 'e', demand: { s0: 450 } }],
    );
    cheap.forEach((id, i) => (put(s, id, `s${i}:g0`), put(s, id, `s${i}:g1`)));
    put(s, 'd', 's24:g0');
    put(s, 'e', 's24:g1');
    expect(repairForGroups(s.ctx, s.state)).toBe(0);
    expect(served(s, 'g')).toBe(0);
    expect(live(s)).toHaveLength(50);
  });

  it('clears s24 when fewer cheaper-looking servers come before it', () => {
    const cheap = Array.from({ length: 23 }, (_, i) => `c${i}`);
    const s = setup(
      Array.from({ length: 24 }, (_, i) => gpus(`s${i}`, 2)),
      [{ id: 'g', groups: [2], demand: { s0: 950 } }, ...cheap.map((id) => ({ id, demand: { s0: 1000 } })), { id: 'd', demand: { s0: 450 } }, { id: 'e', demand: { s0: 450 } }],
    );
    cheap.forEach((id, i) => (put(s, id, `s${i}:g0`), put(s, id, `s${i}:g1`)));
    put(s, 'd', 's23:g0');
    put(s, 'e', 's23:g1');
    expect(repairForGroups(s.ctx, s.state)).toBe(1);
    expect(live(s).at(-1)).toBe('g@s23:g0+g1');
    expect([served(s, 'g'), served(s, 'd'), served(s, 'e')]).toEqual([950, 0, 0]);
  });

  it('of servers that look as cheap to clear, clears the first', () => {
    // Three servers, each device held by its own service that loses 1: g needs one server.
    const ids = ['x0', 'y0', 'x1', 'y1', 'x2', 'y2'];
    const s = setup([gpus('s0', 2), gpus('s1', 2), gpus('s2', 2)], [{ id: 'g', groups: [2], demand: { s0: 1600 } }, ...ids.map((id) => ({ id, demand: { s0: 1 } }))]);
    ids.forEach((id, i) => put(s, id, `s${Math.floor(i / 2)}:g${i % 2}`));
    expect(repairForGroups(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['x1@s1:g0', 'y1@s1:g1', 'x2@s2:g0', 'y2@s2:g1', 'g@s0:g0+g1']);
  });

  it('counts the switching cost evicted new items refund', () => {
    // v's two items serve 300 each and cost 200 each to load: clearing both loses 2 × (300 − 200) = 200, less than the
    // 500 g gains. Without the refund it would lose 600.
    const s = setup([gpus('s0', 2)], [{ id: 'g', groups: [2], demand: { s0: 500 } }, { id: 'v', demand: { s0: 600 }, loadTimeMs: 20_000 }], { switchWeight: 1 });
    put(s, 'v', 's0:g0', 300, 200);
    put(s, 'v', 's0:g1', 300, 200);
    expect(repairForGroups(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['g@s0:g0+g1']);
    expect([served(s, 'g'), served(s, 'v')]).toEqual([500, 0]);
  });

  it('tries the starving group that gains most first', () => {
    // One server, cheap to clear; g1 (listed first) would gain 900, g2 1,200. g2 gets it, and g1 then cannot take it
    // from g2 (it would lose 1,200 for 900): one swap.
    const s = setup(
      [gpus('s0', 2)],
      [
        { id: 'g1', groups: [2], demand: { s0: 900 } },
        { id: 'g2', groups: [2], demand: { s0: 1200 } },
        { id: 'x', demand: { s0: 1 } },
        { id: 'y', demand: { s0: 1 } },
      ],
    );
    put(s, 'x', 's0:g0');
    put(s, 'y', 's0:g1');
    expect(repairForGroups(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['g2@s0:g0+g1']);
  });

  it('of starving groups that gain the same, tries the one listed first', () => {
    const s = setup(
      [gpus('s0', 2)],
      [
        { id: 'g1', groups: [2], demand: { s0: 1000 } },
        { id: 'g2', groups: [2], demand: { s0: 1000 } },
        { id: 'x', demand: { s0: 1 } },
        { id: 'y', demand: { s0: 1 } },
      ],
    );
    put(s, 'x', 's0:g0');
    put(s, 'y', 's0:g1');
    expect(repairForGroups(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['g1@s0:g0+g1']);
  });

  it('after a failed try puts the items back for the next template, which then clears two of them', () => {
    // c serves 2,000 from three instances of 800 on s0: one alone loses 400, two 1,200, all three 2,000. g's group of
    // three would gain 1,800 (estimate 1,200, but 2,000 is lost: no swap); its group of two then gains 1,600 for 1,200.
    const s = setup([gpus('s0', 3)], [{ id: 'g', groups: [3, 2], demand: { s0: 1800 } }, { id: 'c', demand: { s0: 2000 } }]);
    put(s, 'c', 's0:g0');
    put(s, 'c', 's0:g1');
    put(s, 'c', 's0:g2');
    expect(repairForGroups(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['c@s0:g2', 'g@s0:g0+g1']);
    expect([served(s, 'g'), served(s, 'c')]).toEqual([1600, 800]);
    // What the state holds agrees with the items: g2 keeps c's instance, g0 and g1 hold the group alone.
    expect([0, 1, 2].map((d) => s.state.resources.usedBytes(d) > 0)).toEqual([true, true, true]);
    expect(s.state.objective.capacity(s.ctx.model.serviceIndex.get('c')!)).toBe(800);
  });
});
