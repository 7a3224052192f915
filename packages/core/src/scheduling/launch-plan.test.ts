import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LaunchPlan, planExpiry, planLaunch, type LaunchContext } from './launch-rule.js';
import type { SchedulableItem } from './work-item.js';

const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 200), seed: Number(process.env.FC_SEED ?? 20261205) };

interface Item extends SchedulableItem {
  readonly key: string;
}

const itemArb = fc.record({
  deadline: fc.double({ min: 0, max: 80, noNaN: true }),
  priority: fc.integer({ min: 0, max: 1 }),
  key: fc.constantFrom('a', 'b'),
  costScale: fc.constantFrom(1, 1, 1, 1.5, 3),
  stream: fc.constantFrom(undefined, undefined, 's1', 's2'),
  inFlight: fc.boolean(),
});

const ctxArb = fc.record({
  now: fc.double({ min: 0, max: 20, noNaN: true }),
  busyMs: fc.constantFrom(0, 0, 3, 12),
  batchSize: fc.integer({ min: 1, max: 8 }),
  extra: fc.integer({ min: 0, max: 8 }),
  fixedMs: fc.double({ min: 0.5, max: 6, noNaN: true }),
  perItemMs: fc.double({ min: 0.1, max: 2, noNaN: true }),
  guardMs: fc.double({ min: 0, max: 3, noNaN: true }),
  sizeGuard: fc.boolean(),
  rejectLikelyLate: fc.boolean(),
  likelyLateMarginMs: fc.double({ min: 0, max: 5, noNaN: true }),
  expiryLeadMs: fc.double({ min: 0, max: 3, noNaN: true }),
  preferGuarded: fc.boolean(),
  launchWhenIdle: fc.boolean(),
  arrivalsPerMs: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
  overloadBelowPlan: fc.boolean(),
});

type ValueOf<A> = A extends fc.Arbitrary<infer R> ? R : never;

function toItems(raw: readonly ValueOf<typeof itemArb>[]): Item[] {
  const items = raw.map((r, seq) => ({
    seq,
    deadline: r.deadline,
    priority: r.priority,
    key: r.key,
    costScale: r.costScale,
    ...(r.stream ? { slot: { streamId: r.stream, inFlight: r.inFlight } } : {}),
  }));
  return items.sort((a, b) => a.deadline - b.deadline || b.priority - a.priority || a.seq - b.seq);
}

function toCtx(c: ValueOf<typeof ctxArb>): LaunchContext {
  return {
    now: c.now,
    startAt: c.now + c.busyMs,
    batchSize: c.batchSize,
    maxBatchSize: c.batchSize + c.extra,
    latencyMs: (n) => c.fixedMs + c.perItemMs * n,
    guardMs: c.guardMs,
    ...(c.sizeGuard ? { sizeGuardMs: (n: number) => 0.1 * n } : {}),
    rejectLikelyLate: c.rejectLikelyLate,
    likelyLateMarginMs: c.likelyLateMarginMs,
    expiryLeadMs: c.expiryLeadMs,
    preferGuarded: c.preferGuarded,
    launchWhenIdle: c.launchWhenIdle,
    ...(c.arrivalsPerMs !== undefined ? { arrivalsPerMs: c.arrivalsPerMs } : {}),
    overloadBelowPlan: c.overloadBelowPlan,
  };
}

/** The decision's content, detached from the plan's reused arrays. */
function snapshot(d: ReturnType<typeof planLaunch<Item>>): unknown {
  return {
    drop: d.drop.map((i) => i.seq),
    launch: d.launch?.map((i) => i.seq),
    group: d.group?.map((i) => i.seq),
    wakeAt: d.wakeAt,
    headDeadline: d.headDeadline,
    runMs: d.runMs,
    expireAt: d.expireAt,
  };
}

describe('LaunchPlan (a caller-owned, reused decision)', () => {
  it('decides exactly as a fresh decision, call after call on the same plan', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(itemArb, { maxLength: 40 }), ctxArb), { minLength: 1, maxLength: 6 }), (calls) => {
        const plan = new LaunchPlan<Item>();
        for (const [raw, c] of calls) {
          const items = toItems(raw);
          const ctx = toCtx(c);
          const fresh = planLaunch(items, ctx);
          const reused = planLaunch(items, ctx, plan);
          expect(reused).toBe(plan);
          expect(snapshot(reused)).toEqual(snapshot(fresh));
        }
      }),
      RUNS,
    );
  });

  it('planExpiry drops exactly what planLaunch drops and reports the same expiry, choosing no batch', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(itemArb, { maxLength: 40 }), ctxArb), { minLength: 1, maxLength: 6 }), (calls) => {
        // One plan shared by both, call after call, as a host's lane reuses its plan for either pass.
        const plan = new LaunchPlan<Item>();
        for (const [raw, c] of calls) {
          const items = toItems(raw);
          const ctx = toCtx(c);
          const full = snapshot(planLaunch(items, ctx)) as { drop: number[]; expireAt: number | undefined };
          const d = planExpiry(items, ctx, plan);
          expect(d).toBe(plan);
          expect(snapshot(d)).toEqual({ drop: full.drop, launch: undefined, group: undefined, wakeAt: undefined, headDeadline: undefined, runMs: undefined, expireAt: full.expireAt });
          planLaunch(items, ctx, plan);
        }
      }),
      RUNS,
    );
  });

  it('planExpiry never sizes a batch: one latencyMs call at most, no sizeGuardMs', () => {
    const items: Item[] = Array.from({ length: 12 }, (_, seq) => ({ seq, deadline: 5 + seq * 4, priority: 0, key: 'a' }));
    const sizes: number[] = [];
    let guards = 0;
    const ctx: LaunchContext = { now: 0, startAt: 7, batchSize: 4, maxBatchSize: 8, latencyMs: (n) => (sizes.push(n), 2 + n), dropLatencyMs: 3, guardMs: 0, sizeGuardMs: () => (guards++, 0), rejectLikelyLate: true, launchWhenIdle: false };
    const d = planExpiry(items, ctx, new LaunchPlan<Item>());
    expect(sizes).toEqual([1]);
    expect(guards).toBe(0);
    // Due at 5 and 9, items 0 and 1 cannot end by their deadlines from 7 even alone (3 ms): dropped.
    expect(d.drop.map((i) => i.seq)).toEqual([0, 1]);
    expect(d.expireAt).toBeCloseTo(13 - 3 + 1e-3);
  });

  it('returns a fresh plain decision without a plan of the caller', () => {
    const items: Item[] = [{ seq: 0, deadline: 1, priority: 0, key: 'a' }, { seq: 1, deadline: 50, priority: 0, key: 'a' }];
    const d = planLaunch(items, { now: 0, startAt: 0, batchSize: 2, latencyMs: (n) => 2 + n, guardMs: 0, launchWhenIdle: true });
    expect(d).not.toBeInstanceOf(LaunchPlan);
    expect(d.drop.map((i) => i.seq)).toEqual([0]);
    expect(d.launch?.map((i) => i.seq)).toEqual([1]);
    expect(d.expireAt).toBeCloseTo(50 - 3 + 1e-3);
  });
});
