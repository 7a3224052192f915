import { describe, expect, it } from 'vitest';
import type { ParallelPlan } from '../allocation/plan.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { placementService } from '../testing/placement-fixture.js';
import { buildTemplates, footprintOf } from './candidates.js';
import { consolidateShares } from './consolidate.js';
import { commitItem, createBuildState, type BuildState, type GreedyContext } from './greedy.js';
import { buildPlacementModel } from './model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions } from './options.js';
import { affinePlan } from './testing/random-instance.js';
import { trimShares } from './trim-shares.js';
import type { PlacedInstance, PlacementInput } from './types.js';
import { upgradeShares } from './upgrade-shares.js';

// The three share passes of a greedy round, each called on a build state set up by hand: the grow
// (`upgradeShares`), the merge (`consolidateShares`) and the trim (`trimShares`). Each returns how many items it
// changed, which the pipeline reads to decide whether another round is due, so the counts are asserted with the
// items. Figures are exact: a batch of 8 runs 2 + 8 · 1 = 10 ms, so a device alone serves 800 items/s; items are
// valued one per item/s (no floor), no interference, no residual-blocking price, no switching cost unless a case
// says so.

const GB = 1024 ** 3;
const BASE: PlacementOptions = {
  valueWeighting: 'per-item',
  minServedShare: 0,
  switchWeight: 0,
  colocationSlowdown: 0,
  residualBlocking: false,
  batchVariants: 0,
};

const service = (id: string, loadTimeMs = 0): ServiceSpec => placementService(id, { loadTimeMs });
const planOf = (s: ServiceSpec): ParallelPlan => affinePlan(s, 'gpu', { fixedMs: 2, perItemMs: 1, batch: 8 });
const gpus = (id: string, n: number): ServerSpec => ({
  id,
  devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })),
});

interface Setup {
  readonly ctx: GreedyContext;
  readonly state: BuildState;
  readonly plan: ParallelPlan;
}

/** Service `a` (one plan, the same object for every item) on `servers`, with its demand per server. */
function setup(servers: ServerSpec[], demand: Record<string, number>, options: PlacementOptions = {}, over: { loadTimeMs?: number; delaysMs?: PlacementInput['delaysMs'] } = {}): Setup {
  const a = service('a', over.loadTimeMs);
  const plan = planOf(a);
  const input: PlacementInput = {
    servers,
    services: [a],
    plans: { a: [plan] },
    demand: [{ serviceId: 'a', ratePerServer: demand }],
    ...(over.delaysMs ? { delaysMs: over.delaysMs } : {}),
  };
  const effective = effectivePlacementOptions(resolvePlacementOptions({ ...BASE, ...options }), input);
  const resolved = { ...effective, multiTask: effective.multiTask !== false };
  const model = buildPlacementModel(input, resolved);
  const ctx: GreedyContext = { model, options: resolved, templates: buildTemplates(model, resolved) };
  return { ctx, state: createBuildState(ctx), plan };
}

interface Item {
  /** `server:device`. */
  readonly at: string;
  readonly claim: number;
  /** A kept instance (warm start) with this id, else a new item. */
  readonly running?: string;
  /** The kept instance's measured capacity at its claim. */
  readonly measured?: number;
  /** The switching cost the item was placed with. @default 0 */
  readonly penalty?: number;
}

/** Places service `a`'s item as the warm start (kept) or a greedy round (new) would. */
function put({ ctx, state, plan }: Setup, item: Item): void {
  const [serverId, deviceId] = item.at.split(':') as [string, string];
  const device = ctx.model.deviceIndex.get(`${ctx.model.serverIndex.get(serverId)}:${deviceId}`)!;
  const svc = ctx.model.services[0]!;
  const current: PlacedInstance | null = item.running
    ? {
        instanceId: item.running,
        serviceId: 'a',
        plan,
        serverId,
        deviceIds: [deviceId],
        capacityPerSec: item.claim,
        ...(item.measured !== undefined ? { measuredCapacityPerSec: item.measured } : {}),
      }
    : null;
  const foot = footprintOf(svc, plan, item.claim, true);
  commitItem(state, { template: null, current, service: 0, plan, devices: [device], foot, penalty: item.penalty ?? 0 }, item.measured ?? item.claim, ctx);
}

/** The live items, `server:device claim`, in placement order. */
const live = ({ ctx, state }: Setup): string[] =>
  state.chosen
    .filter((c) => !c.removed)
    .map((c) => {
      const d = ctx.model.devices[c.devices[0]!]!;
      return `${ctx.model.servers[d.server]!.id}:${d.id} ${c.foot.capacityPerSec}`;
    });
const served = (s: Setup): number => s.state.objective.served(0);

describe('consolidateShares: merging partial shares of one plan', () => {
  it('absorbs a new share into an earlier one when the earlier device has the room, freeing the later device', () => {
    const s = setup([gpus('s0', 2)], { s0: 600 });
    put(s, { at: 's0:g0', claim: 300 });
    put(s, { at: 's0:g1', claim: 300 });
    expect(consolidateShares(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['s0:g0 600']);
    expect(served(s)).toBe(600);
    expect([s.state.resources.isEmpty(0), s.state.resources.isEmpty(1)]).toEqual([false, true]);
  });

  it('merges when the room left is exactly the absorbed claim', () => {
    // 800 − 400 = 400 left on g0 for g1's 400.
    const s = setup([gpus('s0', 2)], { s0: 800 });
    put(s, { at: 's0:g0', claim: 400 });
    put(s, { at: 's0:g1', claim: 400 });
    expect(consolidateShares(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['s0:g0 800']);
    expect(served(s)).toBe(800);
  });

  it('merges nothing, and says so, when the earlier device has less room than the later claim', () => {
    // 800 − 500 = 300 left on g0 for g1's 400; the other way round only a later item is absorbed.
    const s = setup([gpus('s0', 2)], { s0: 900 });
    put(s, { at: 's0:g0', claim: 500 });
    put(s, { at: 's0:g1', claim: 400 });
    expect(consolidateShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 500', 's0:g1 400']);
    expect(served(s)).toBe(900);
  });

  it('absorbs into several earlier shares, one merge each, and counts them', () => {
    // Three shares of 200: the last goes into the first (400), the second into the first too (600).
    const s = setup([gpus('s0', 3)], { s0: 600 });
    put(s, { at: 's0:g0', claim: 200 });
    put(s, { at: 's0:g1', claim: 200 });
    put(s, { at: 's0:g2', claim: 200 });
    expect(consolidateShares(s.ctx, s.state)).toBe(2);
    expect(live(s)).toEqual(['s0:g0 600']);
    expect(served(s)).toBe(600);
  });

  it('keeps two running shares apart: only new instances are absorbed', () => {
    const s = setup([gpus('s0', 2)], { s0: 600 });
    put(s, { at: 's0:g0', claim: 300, running: 'a-1' });
    put(s, { at: 's0:g1', claim: 300, running: 'a-2' });
    expect(consolidateShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 300', 's0:g1 300']);
  });

  it('lets a running share absorb a new one', () => {
    const s = setup([gpus('s0', 2)], { s0: 600 });
    put(s, { at: 's0:g0', claim: 300, running: 'a-1' });
    put(s, { at: 's0:g1', claim: 300 });
    expect(consolidateShares(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['s0:g0 600']);
    expect(s.state.chosen[0]!.current?.instanceId).toBe('a-1');
    expect(served(s)).toBe(600);
  });

  it('does not let a running share measured below its claim absorb a new one', () => {
    // Measured at 150 of its 300: at 600 it would supply 300, 150 more, where the new share supplies 300.
    const s = setup([gpus('s0', 2)], { s0: 600 });
    put(s, { at: 's0:g0', claim: 300, running: 'a-1', measured: 150 });
    put(s, { at: 's0:g1', claim: 300 });
    expect(consolidateShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 300', 's0:g1 300']);
    expect(served(s)).toBe(450);
  });

  describe('with locality', () => {
    it('merges shares on one server, whose demand they both reach', () => {
      const s = setup([gpus('s0', 2)], { s0: 600 }, {}, { delaysMs: { s0: { s0: 0 } } });
      expect(s.ctx.options.locality).toBe(true);
      put(s, { at: 's0:g0', claim: 300 });
      put(s, { at: 's0:g1', claim: 300 });
      expect(consolidateShares(s.ctx, s.state)).toBe(1);
      expect(live(s)).toEqual(['s0:g0 600']);
      expect(served(s)).toBe(600);
    });

    it('keeps a share on another server that serves demand the earlier one cannot reach', () => {
      // 1000 ms each way: each server's instance reaches only its own server's demand.
      const far = { s0: { s0: 0, s1: 1000 }, s1: { s0: 1000, s1: 0 } };
      const s = setup([gpus('s0', 1), gpus('s1', 1)], { s0: 300, s1: 300 }, {}, { delaysMs: far });
      put(s, { at: 's0:g0', claim: 300 });
      put(s, { at: 's1:g0', claim: 300 });
      expect(consolidateShares(s.ctx, s.state)).toBe(0);
      expect(live(s)).toEqual(['s0:g0 300', 's1:g0 300']);
      expect(served(s)).toBe(600);
    });

    it('absorbs a share on another server whose removal loses nothing', () => {
      // The demand (300, at s0) is all served by s0's share: s1's serves nothing and goes, s0's grows.
      const near = { s0: { s0: 0, s1: 0 }, s1: { s0: 0, s1: 0 } };
      const s = setup([gpus('s0', 1), gpus('s1', 1)], { s0: 300 }, {}, { delaysMs: near });
      put(s, { at: 's0:g0', claim: 300 });
      put(s, { at: 's1:g0', claim: 300 });
      expect(consolidateShares(s.ctx, s.state)).toBe(1);
      expect(live(s)).toEqual(['s0:g0 600']);
      expect(served(s)).toBe(300);
    });
  });
});

describe('trimShares: a new share cut to the demand it serves', () => {
  it('trims the unused part of a claim and counts it', () => {
    const s = setup([gpus('s0', 1)], { s0: 300 });
    put(s, { at: 's0:g0', claim: 500 });
    expect(trimShares(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['s0:g0 300']);
    expect(served(s)).toBe(300);
  });

  it('trims nothing when the claim is all used', () => {
    const s = setup([gpus('s0', 1)], { s0: 300 });
    put(s, { at: 's0:g0', claim: 300 });
    expect(trimShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 300']);
  });

  it('trims nothing when the unused part is exactly epsilon', () => {
    const s = setup([gpus('s0', 1)], { s0: 300 }, { epsilon: 1 });
    put(s, { at: 's0:g0', claim: 301 });
    expect(trimShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 301']);
  });

  it('leaves a share that serves nothing to the prune: it is not trimmed to zero', () => {
    // 300 of demand, two shares of 300: each is wholly slack while the other serves it.
    const s = setup([gpus('s0', 2)], { s0: 300 });
    put(s, { at: 's0:g0', claim: 300 });
    put(s, { at: 's0:g1', claim: 300 });
    expect(trimShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 300', 's0:g1 300']);
  });

  it('leaves a share that would keep only epsilon', () => {
    // 301 of demand over 300 + 301: the newer share would keep 1 = epsilon, the older is then wholly slack.
    const s = setup([gpus('s0', 2)], { s0: 301 }, { epsilon: 1 });
    put(s, { at: 's0:g0', claim: 300 });
    put(s, { at: 's0:g1', claim: 301 });
    expect(trimShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 300', 's0:g1 301']);
  });
});

describe('upgradeShares: a share grown into unmet demand', () => {
  it('grows a share to the demand left and counts it', () => {
    const s = setup([gpus('s0', 1)], { s0: 600 });
    put(s, { at: 's0:g0', claim: 300 });
    expect(upgradeShares(s.ctx, s.state)).toBe(1);
    expect(live(s)).toEqual(['s0:g0 600']);
    expect(served(s)).toBe(600);
  });

  it('does not grow for a gain of exactly epsilon', () => {
    const s = setup([gpus('s0', 1)], { s0: 400 }, { epsilon: 100 });
    put(s, { at: 's0:g0', claim: 300 });
    expect(upgradeShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual(['s0:g0 300']);
  });

  it('weighs the grow against the switching cost the larger new share adds', () => {
    // Penalty = demand taken × load time / period (30 s). Loading for 15 s: 150 at 300, 300 at 600 — the grow
    // gains 300 for 150 more. Loading for the whole period: 300 at 300, 600 at 600 — it gains 300 for 300 more.
    const cheap = setup([gpus('s0', 1)], { s0: 600 }, { switchWeight: 1 }, { loadTimeMs: 15_000 });
    put(cheap, { at: 's0:g0', claim: 300, penalty: 150 });
    expect(upgradeShares(cheap.ctx, cheap.state)).toBe(1);
    expect(live(cheap)).toEqual(['s0:g0 600']);
    expect(cheap.state.chosen[0]!.penalty).toBe(300);

    const dear = setup([gpus('s0', 1)], { s0: 600 }, { switchWeight: 1 }, { loadTimeMs: 30_000 });
    put(dear, { at: 's0:g0', claim: 300, penalty: 300 });
    expect(upgradeShares(dear.ctx, dear.state)).toBe(0);
    expect(live(dear)).toEqual(['s0:g0 300']);
    expect(dear.state.chosen[0]!.penalty).toBe(300);
  });

  it('takes a share within a relative 10⁻⁹ of its limit as full: no grow of rounding size', () => {
    // Even with epsilon 0, where any gain counts.
    const s = setup([gpus('s0', 1)], { s0: 1000 }, { epsilon: 0 });
    const claim = 800 * (1 - 1e-10);
    put(s, { at: 's0:g0', claim });
    expect(upgradeShares(s.ctx, s.state)).toBe(0);
    expect(live(s)).toEqual([`s0:g0 ${claim}`]);
  });
});
