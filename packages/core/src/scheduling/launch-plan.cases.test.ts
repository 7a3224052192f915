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
