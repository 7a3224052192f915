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
