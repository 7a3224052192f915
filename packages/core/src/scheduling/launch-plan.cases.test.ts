import { describe, expect, it } from 'vitest';
import { LaunchPlan, planLaunch, type LaunchContext } from './launch-rule.js';
import type { SchedulableItem } from './work-item.js';

let seq = 0;
const mk = (deadline: number, o: Partial<SchedulableItem> = {}): SchedulableItem => ({ seq: seq++, deadline, priority: 0, key: 'k', ...o });
// L(n) = 10 + 5n
const ctx = (o: Partial<LaunchContext> = {}): LaunchContext => ({ now: 0, startAt: 0, batchSize: 4, latencyMs: (n) => 10 + 5 * n, guardMs: 1, launchWhenIdle: false, ...o });

describe('the decision as a plain object', () => {
  it('holds only the fields that apply: nothing but drop for an empty queue', () => {
    expect(Object.keys(planLaunch([], ctx()))).toEqual(['drop']);
  });

  it('a waiting batch has a wake-up and no launch; a launched one no wake-up; every item dropped, no group', () => {
    const waiting = planLaunch([mk(100)], ctx());
    expect(Object.keys(waiting).sort()).toEqual(['drop', 'expireAt', 'group', 'headDeadline', 'runMs', 'wakeAt']);
    const launched = planLaunch([mk(100)], ctx({ launchWhenIdle: true }));
    expect(Object.keys(launched).sort()).toEqual(['drop', 'expireAt', 'group', 'headDeadline', 'launch', 'runMs']);
    const hopeless = planLaunch([mk(5)], ctx());
    expect(Object.keys(hopeless)).toEqual(['drop']);
  });

  it('is a fresh object each call without a plan, and the caller\'s plan itself with one', () => {
    const plan = new LaunchPlan();
    const items = [mk(100)];
    const a = planLaunch(items, ctx());
    expect(a).not.toBe(planLaunch(items, ctx()));
    expect(planLaunch(items, ctx(), plan)).toBe(plan);
    expect(plan.group).toEqual(items);
  });
});

describe('preferGuarded with items dropped only for the host\'s wake-up lag', () => {
  it('keeps every dropped item out of the guarded batch, and nothing else', () => {
    // Drops use the optimistic 5 ms and a 24 ms lag: an item is dropped when deadline < 5 × cost + 24. The guard
    // for one item is 1 + 8. X1, X2 (cost 1, due 26, 27) are dropped, though alone (15 + 9 = 24) they would keep
    // their guard; Z1, Z2 (cost 10) are dropped and could not keep it either.
    const x1 = mk(26);
    const x2 = mk(27);
    const head = mk(35, { costScale: 2 }); // kept (10 + 24 ≤ 35), but alone ends inside its guard: 30 + 9 > 35
    const r1 = mk(60);
    const r2 = mk(60);
    const z1 = mk(70, { costScale: 10 });
    const z2 = mk(70, { costScale: 10 });
    const c = ctx({ dropLatencyMs: 5, expiryLeadMs: 24, sizeGuardMs: () => 8, preferGuarded: true, launchWhenIdle: true });
    const d = planLaunch([x1, x2, head, r1, r2, z1, z2], c);
    expect(d.drop).toEqual([x1, x2, z1, z2]);
    // The batch goes to the two items that keep their guard: neither a dropped item nor the head joins it.
    expect(d.launch).toEqual([r1, r2]);
    expect(d.runMs).toBe(20);
  });
});

describe('waiting for a batch to fill, with an arrival rate', () => {
  // One item due at 100: its latest start alone is 100 − 1 − 15 = 84; three more are needed for a batch of 4.
  it('waits until the batch is expected to fill when that comes before the latest start', () => {
    // 0.1 items/ms: three more by 30.
    const d = planLaunch([mk(100)], ctx({ arrivalsPerMs: 0.1 }));
    expect(d.launch).toBeUndefined();
    expect(d.wakeAt).toBe(30);
    // Already 10 ms in, busy until 12: the fill is expected at 40, and never before the device frees.
    expect(planLaunch([mk(100)], ctx({ now: 10, startAt: 12, arrivalsPerMs: 0.1 })).wakeAt).toBe(40);
    expect(planLaunch([mk(100)], ctx({ now: 10, startAt: 50, arrivalsPerMs: 0.1 })).wakeAt).toBe(50);
  });

  it('launches at once when the batch is not expected to fill before the latest start (or no arrivals come)', () => {
    expect(planLaunch([mk(100)], ctx({ arrivalsPerMs: 0.03 })).launch).toHaveLength(1); // full at 100 > 84
    expect(planLaunch([mk(100)], ctx({ arrivalsPerMs: 0 })).launch).toHaveLength(1);
    // Exactly at the latest start (0.125 items/ms: three more by 24 = 40 − 1 − 15): still worth waiting for.
    const edge = planLaunch([mk(40)], ctx({ arrivalsPerMs: 0.125 }));
    expect(edge.launch).toBeUndefined();
    expect(edge.wakeAt).toBe(24);
    // Two queued: two more by 20 at 0.1 items/ms, before the latest start of a pair (100 − 1 − 20 = 79).
    expect(planLaunch([mk(100), mk(100)], ctx({ arrivalsPerMs: 0.1 })).wakeAt).toBe(20);
  });
});

describe('the overload rule', () => {
  it('runs only when the head\'s batch is a backlog: a lone head of another key is not passed over', () => {
    const a = mk(20, { key: 'a' });
    const bs = [mk(1000, { key: 'b' }), mk(1000, { key: 'b' }), mk(1000, { key: 'b' }), mk(1000, { key: 'b' })];
    expect(planLaunch([a, ...bs], ctx({ launchWhenIdle: true })).launch).toEqual([a]);
  });

  it('with overloadBelowPlan starts just above the shrunk batch, not below it', () => {
    // L(n) = 10 n²: items per ms fall with the size. The head (due 50) shrinks the batch of 3 to 2 (L(2) + 1 ≤ 50).
    const items = [mk(50), mk(1000), mk(1000)];
    const d = planLaunch(items, ctx({ batchSize: 3, latencyMs: (n) => 10 * n * n, overloadBelowPlan: true, launchWhenIdle: true }));
    expect(d.launch).toEqual(items.slice(0, 2));
  });

  it('scales each item\'s run by its cost when it picks the backlog batch', () => {
    const urgent = mk(20);
    const big = mk(50, { costScale: 2 }); // in a batch of 4: 30 × 2 + 1 > 50
    const fresh = [mk(1000), mk(1000), mk(1000), mk(1000)];
    expect(planLaunch([urgent, big, ...fresh], ctx()).launch).toEqual(fresh);
  });
});

describe('preferGuarded: only a head that cannot keep its guard alone gives way', () => {
  const guarded = (o: Partial<LaunchContext> = {}): LaunchContext => ctx({ preferGuarded: true, launchWhenIdle: true, ...o });

  it('a head that keeps its guard alone stays, even when a costly item behind it shrinks the batch to one', () => {
    const head = mk(25);
    const costly = mk(26, { costScale: 3 }); // kept (5 × 3 ≤ 26), cannot keep its guard alone (45 + 1 > 26)
    const later = mk(100);
    expect(planLaunch([head, costly, later], guarded({ dropLatencyMs: 5 })).launch).toEqual([head]);
  });

  it('a head in a batch of two is not tested alone (a learned guard for singles may be the larger)', () => {
    const head = mk(30);
    const later = mk(100);
    // Pairs: 20 + 1 ≤ 30. Singles have learned a 20 ms margin: 15 + 21 > 30, which does not matter for a pair.
    expect(planLaunch([head, later], guarded({ sizeGuardMs: (n) => (n === 1 ? 20 : 0) })).launch).toEqual([head, later]);
  });

  it('a head of cost 2 gives way exactly when 15 × 2 + its guard passes its deadline', () => {
    const sizeGuardMs = (): number => 8; // the guard for one is 9
    const rest = mk(100);
    const onEdge = mk(39); // 30 + 9 = 39: kept
    expect(planLaunch([{ ...onEdge, costScale: 2 }, rest], guarded({ sizeGuardMs })).launch?.map((i) => i.seq)).toEqual([onEdge.seq]);
    const inside = mk(35); // 30 + 9 > 35: the later item runs
    expect(planLaunch([{ ...inside, costScale: 2 }, rest], guarded({ sizeGuardMs })).launch).toEqual([rest]);
  });
});

describe('rejectLikelyLate with an input of cost 2', () => {
  const strict = (o: Partial<LaunchContext> = {}): LaunchContext => ctx({ rejectLikelyLate: true, dropLatencyMs: 5, launchWhenIdle: true, ...o });

  it('rejects an item expected to end past its deadline at 15 × 2 ms, and serves one that ends exactly on it', () => {
    const late = mk(25, { costScale: 2 });
    expect(planLaunch([late], strict()).drop).toEqual([late]);
    const onTime = mk(30, { costScale: 2 });
    const d = planLaunch([onTime], strict({ guardMs: 0 }));
    expect(d.drop).toEqual([]);
    expect(d.launch).toEqual([onTime]);
  });
});

describe('dropping and expiry at their edges', () => {
  it('keeps an item that alone would end exactly on its deadline', () => {
    const d = planLaunch([mk(15)], ctx({ guardMs: 0, launchWhenIdle: true }));
    expect(d.drop).toEqual([]);
    expect(d.launch).toHaveLength(1);
  });

  it('leaves every dropped item, wherever it stands, out of expireAt', () => {
    // Two hopeless heads and one item due at 100: it expires just after 100 − 15.
    const d = planLaunch([mk(5), mk(6), mk(100)], ctx());
    expect(d.drop).toHaveLength(2);
    expect(d.expireAt).toBeCloseTo(85, 2);
    // A costly item dropped behind a kept one (110 < 15 × 10).
    const kept = mk(100);
    const costly = mk(110, { costScale: 10 });
    const e = planLaunch([kept, costly], ctx());
    expect(e.drop).toEqual([costly]);
    expect(e.expireAt).toBeCloseTo(85, 2);
  });

  it('looks at the first EXPIRY_SCAN (64) items kept, not further', () => {
    const first = Array.from({ length: 64 }, () => mk(100));
    const costly = mk(100.5, { costScale: 3 }); // would expire at 100.5 − 45, but it is the 65th
    const d = planLaunch([...first, costly], ctx({ startAt: 50 }));
    expect(d.drop).toEqual([]);
    expect(d.expireAt).toBeCloseTo(85, 2);
  });
});

describe('the overload rule with costly inputs', () => {
  // L(1) = 15, L(2) = 20, L(3) = 24; guard 1. The urgent head (due 20) shrinks any batch to itself.
  const L = (n: number): number => (n === 1 ? 15 : n === 2 ? 20 : 24);
  const backlog = (o: Partial<LaunchContext> = {}): LaunchContext => ctx({ batchSize: 2, maxBatchSize: 3, latencyMs: L, launchWhenIdle: true, ...o });

  it('keeps the smaller batch when the larger, slowed by a costly item, only ties its rate', () => {
    const a = mk(1000);
    const b = mk(1000);
    const c = mk(1000, { costScale: 1.25 }); // three in 24 × 1.25 = 30 ms: 0.1 items/ms, as two in 20
    expect(planLaunch([mk(20), a, b, c], backlog()).launch).toEqual([a, b]);
  });

  it('takes a larger batch only when its earliest item still ends guard ms before its deadline', () => {
    const a = mk(27); // in the three-item batch it ends at 24 × 1.1 = 26.4, inside its 1 ms guard
    const b = mk(1000);
    const c = mk(1000, { costScale: 1.1 });
    expect(planLaunch([mk(20), a, b, c], backlog()).launch).toEqual([a, b]);
    // Due at 28 it keeps the guard, and three items at 0.114 items/ms beat two at 0.1.
    const a2 = mk(28);
    expect(planLaunch([mk(20), a2, b, c], backlog()).launch).toEqual([a2, b, c]);
  });
});
