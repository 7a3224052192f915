import { describe, expect, it } from 'vitest';
import { planLaunch, skipShrinkingHeadAt, type LaunchContext } from './launch-rule.js';
import type { SchedulableItem, StreamSlotLike } from './work-item.js';

let seq = 0;
const mk = (deadline: number, o: { key?: string; slot?: StreamSlotLike; costScale?: number } = {}): SchedulableItem => ({
  seq: seq++,
  key: o.key ?? 'k',
  deadline,
  priority: 0,
  ...(o.slot ? { slot: o.slot } : {}),
  ...(o.costScale !== undefined ? { costScale: o.costScale } : {}),
});
// L(n) = 10 + 5n
const ctx = (o: Partial<LaunchContext> = {}): LaunchContext => ({
  now: 0,
  startAt: 0,
  batchSize: 4,
  latencyMs: (n) => 10 + 5 * n,
  guardMs: 1,
  launchWhenIdle: false,
  ...o,
});

describe('planLaunch', () => {
  it('drops what cannot finish even alone, and waits to fill until the head deadline requires a launch', () => {
    const items = [mk(10), mk(100), mk(120)];
    const d = planLaunch(items, ctx());
    expect(d.drop).toEqual([items[0]]);
    expect(d.launch).toBeUndefined();
    expect(d.wakeAt).toBe(100 - 1 - 20); // L(2)
    expect(planLaunch(items.slice(1), ctx({ now: 79, startAt: 79 })).launch).toEqual(items.slice(1));
  });

  it('launches a full batch at once and takes only items with the head key', () => {
    const items = [mk(100), mk(101, { key: 'other' }), mk(102), mk(103), mk(104), mk(105)];
    expect(planLaunch(items, ctx()).launch).toEqual([items[0], items[2], items[3], items[4]]);
  });

  it('shrinks a batch until its earliest deadline is met with the guard kept', () => {
    const items = [mk(32), mk(500), mk(500), mk(500)];
    // L(4) = 30, L(3) = 25, L(2) = 20: from 11 only 2 fit before 32 − 1, and the head cannot wait longer.
    expect(planLaunch(items, ctx({ now: 11, startAt: 11 })).launch).toEqual(items.slice(0, 2));
    // With a 2 ms guard L(2) would end at 31 > 32 − 2: the head runs alone, when it must (from 32 − 2 − 15).
    expect(planLaunch(items, ctx({ now: 11, startAt: 11, guardMs: 2 })).wakeAt).toBe(15);
    expect(planLaunch(items, ctx({ now: 15, startAt: 15, guardMs: 2 })).launch).toEqual(items.slice(0, 1));
  });

  it('takes at most one frame per stateful stream, none of a stream with a frame in flight', () => {
    const a: StreamSlotLike = { streamId: 'a', inFlight: false };
    const b: StreamSlotLike = { streamId: 'b', inFlight: true };
    const items = [mk(100, { slot: a }), mk(101, { slot: a }), mk(102, { slot: b }), mk(103)];
    expect(planLaunch(items, ctx({ launchWhenIdle: true })).launch).toEqual([items[0], items[3]]);
  });

  it('with overloadBelowPlan, a stale head no longer shrinks a backlogged batch to one: a fresher batch below the plan size runs', () => {
    // Head: only L(1) = 15 fits before 17 − 1; seven fresh items behind it. The plan's batch (8) cannot be
    // filled without the head, so the plain overload rule finds nothing and the shrunk batch of one runs.
    const items = [mk(17), ...Array.from({ length: 7 }, () => mk(1000))];
    const plain = planLaunch(items, ctx({ batchSize: 8, launchWhenIdle: true }));
    expect(plain.launch).toEqual([items[0]]);
    // 7 fresh items in L(7) = 45 ms (0.156 items/ms) beat the head alone (1 in 15 ms, 0.067 items/ms).
    const below = planLaunch(items, ctx({ batchSize: 8, launchWhenIdle: true, overloadBelowPlan: true }));
    expect(below.launch).toEqual(items.slice(1));
    // Without a backlog (fewer items than the plan's batch) nothing changes.
    expect(planLaunch(items.slice(0, 4), ctx({ batchSize: 8, launchWhenIdle: true, overloadBelowPlan: true })).launch).toEqual([items[0]]);
  });

  it('with skipShrinkingHead, passes over a head that shrinks the batch without a backlog, by the factor given, and wakes when it expires', () => {
    // Head: only L(1) = 15 fits before 17 − 1; five fresh items behind it, fewer than the plan's batch (8).
    const items = [mk(17), ...Array.from({ length: 5 }, () => mk(1000))];
    const at = { now: 1, startAt: 1, batchSize: 8 };
    // Plain: at its latest start (17 − 1 − 15) the head runs alone.
    expect(planLaunch(items, ctx(at)).launch).toEqual([items[0]]);
    // Five fresh items in L(5) = 35 ms (0.143 items/ms) beat the head alone (0.067 items/ms) 2.1 times.
    const skip = planLaunch(items, ctx({ ...at, skipShrinkingHead: 2 }));
    expect(skip.launch).toBeUndefined();
    expect(skip.group).toEqual(items.slice(1));
    // The fresh batch would wait to fill until 1000 − 1 − 35; the host looks again when the head is hopeless.
    expect(skip.expireAt).toBeCloseTo(17 - 15, 2);
    expect(skip.wakeAt).toBe(skip.expireAt);
    // Then it is dropped, and the fresh batch waits for its own latest start.
    const later = planLaunch(items, ctx({ now: skip.wakeAt!, startAt: skip.wakeAt!, batchSize: 8, skipShrinkingHead: 2 }));
    expect(later.drop).toEqual([items[0]]);
    expect(later.wakeAt).toBe(1000 - 1 - 35);
    // A larger factor than the gain keeps the head; so does a factor below 1 (off).
    expect(planLaunch(items, ctx({ ...at, skipShrinkingHead: 3 })).launch).toEqual([items[0]]);
    expect(planLaunch(items, ctx({ ...at, skipShrinkingHead: 0 })).launch).toEqual([items[0]]);
    // A head that fits a batch with all of the queue is not passed over.
    const roomy = [mk(60), ...items.slice(1)];
    expect(planLaunch(roomy, ctx({ ...at, skipShrinkingHead: 1, launchWhenIdle: true })).launch).toEqual(roomy);
  });

  it('grows past the plan batch under a backlog up to maxBatchSize, and never launches while the device is busy', () => {
    const items = Array.from({ length: 8 }, () => mk(1000));
    expect(planLaunch(items, ctx({ maxBatchSize: 6 })).launch).toHaveLength(6);
    const busy = planLaunch(items, ctx({ now: 0, startAt: 30, maxBatchSize: 6 }));
    expect(busy.launch).toBeUndefined();
    expect(busy.group).toHaveLength(6);
  });

  it('runs a batch at the cost of its largest input, and drops an input too large to make its deadline', () => {
    const big = mk(100, { costScale: 10 }); // alone: 15 × 10 = 150 ms
    const d = planLaunch([big, mk(200)], ctx({ launchWhenIdle: true }));
    expect(d.drop).toEqual([big]);
    const fits = mk(200, { costScale: 3 });
    const e = planLaunch([fits], ctx({ launchWhenIdle: true }));
    expect(e.runMs).toBe(45);
    expect(e.launch).toEqual([fits]);
  });
});

describe('planLaunch under overload', () => {
  it('under a backlog, runs the batch with the most on-time items per ms, skipping what only a smaller batch could save', () => {
    // From 0 with plan batch 4: L(4) = 30. The urgent head (deadline 20) would shrink the batch to 1.
    const urgent = mk(20);
    const rest = [mk(40), mk(41), mk(42), mk(43), mk(44)];
    expect(planLaunch([urgent, ...rest], ctx()).launch).toEqual(rest.slice(0, 4));
    // Without a backlog EDF holds: the urgent item leads a batch that it still fits (L(2) = 20 ≤ 20 − 0).
    expect(planLaunch([urgent, rest[0]!], ctx({ guardMs: 0 })).launch).toEqual([urgent, rest[0]]);
  });

  it('keeps the guard in the backlog batch: an item finishing inside the margin is not admitted', () => {
    // L(4) = 30 from 0. Deadlines 30.5 would end 0.5 ms before them: inside a 1 ms guard, so skipped.
    const tight = [mk(30.5), mk(30.5), mk(30.5), mk(30.5)];
    const ok = [mk(31), mk(31), mk(31), mk(31)];
    const d = planLaunch([...tight, ...ok], ctx({ maxBatchSize: 4 }));
    expect(d.launch).toEqual(ok);
    for (const it of d.launch!) expect(it.deadline - d.runMs!).toBeGreaterThanOrEqual(1);
  });

  it('with amortizeShare, takes the largest batch within that share of the best rate on a flat profile', () => {
    // A flat profile whose small batches measured 3 % faster per item (noise): L(n) = 0.68 n up to 3, 0.7 n above.
    const flat = (n: number): number => (n <= 3 ? 0.68 : 0.7) * n;
    // Three urgent items shrink the EDF batch to them (L(3) = 2.04 ≤ 3 − 0.5); twenty loose ones wait behind.
    const urgent = [mk(3), mk(3), mk(3)];
    const loose = Array.from({ length: 20 }, () => mk(50));
    const base = { batchSize: 3, maxBatchSize: 20, latencyMs: flat, guardMs: 0.5 };
    // The strictly best rate is the urgent batch of three's: the backlog runs in batches of three.
    expect(planLaunch([...urgent, ...loose], ctx(base)).launch).toEqual(urgent);
    // Within 95 % of it, the larger batch: twenty items for one batch's messages instead of three.
    const amortized = planLaunch([...urgent, ...loose], ctx({ ...base, amortizeShare: 0.95 }));
    expect(amortized.launch).toEqual(loose);
    // A larger batch that falls below the share of the best is not taken: small batches 10 % faster per item.
    const steeper = (n: number): number => (n <= 3 ? 0.63 : 0.7) * n;
    expect(planLaunch([...urgent, ...loose], ctx({ ...base, latencyMs: steeper, amortizeShare: 0.95 })).launch).toEqual(urgent);
  });
});

describe('planLaunch: reject rather than serve late', () => {
  // Expected L(1) = 15 (the profile corrected for a slow device); the optimistic drop uses the profile's 10.
  const strict = (o: Partial<LaunchContext> = {}): LaunchContext => ctx({ rejectLikelyLate: true, dropLatencyMs: 10, ...o });

  it('on an idle device drops an item expected to finish late even alone, which the optimistic rule would launch', () => {
    const head = mk(12); // alone from 0: 10 ≤ 12 optimistically, but 15 expected
    const later = mk(200);
    expect(planLaunch([head, later], ctx({ dropLatencyMs: 10 })).drop).toEqual([]);
    const d = planLaunch([head, later], strict());
    expect(d.drop).toEqual([head]);
    expect(d.group).toEqual([later]);
  });

  it('on a busy device keeps such an item queued (the device may free early) but out of the batch sent ahead', () => {
    const head = mk(22); // from 10: 25 expected > 22, but 20 ≤ 22 optimistically
    const rest = [mk(300), mk(300), mk(300), mk(300)];
    const d = planLaunch([head, ...rest], strict({ startAt: 10 }));
    expect(d.drop).toEqual([]);
    expect(d.group).toEqual(rest);
    // It expires when even the optimistic single run from then misses: 22 − 10, just after.
    expect(d.expireAt).toBeGreaterThan(12);
    expect(d.expireAt).toBeLessThan(12.01);
  });

  it('keeps the learned margin of the batch size it launches', () => {
    // L(2) = 20 from 0; deadline 25: kept with a 1 + 4 guard, not with the 1 + 6 learned for pairs.
    const items = [mk(25), mk(25)];
    expect(planLaunch(items, ctx({ sizeGuardMs: () => 4, launchWhenIdle: true })).launch).toHaveLength(2);
    expect(planLaunch(items, ctx({ sizeGuardMs: (n) => (n === 1 ? 4 : 6), launchWhenIdle: true })).launch).toHaveLength(1);
  });

  it('counts the typical lateness the host sees: an item more likely late than not is rejected, not launched alone', () => {
    // Expected alone from 0: 15 ms; the host sees batches end 20 ms after that at the median.
    const tight = mk(30); // 15 ≤ 30, but 15 + 20 > 30
    const roomy = mk(60);
    expect(planLaunch([tight, roomy], strict({ launchWhenIdle: true })).launch).toEqual([tight, roomy]);
    const d = planLaunch([tight, roomy], strict({ likelyLateMarginMs: 20, launchWhenIdle: true }));
    expect(d.drop).toEqual([tight]);
    expect(d.launch).toEqual([roomy]);
    // Only with rejectLikelyLate: the plain rule still launches it.
    expect(planLaunch([tight, roomy], ctx({ likelyLateMarginMs: 20, launchWhenIdle: true })).drop).toEqual([]);
  });

  it('expires items early by the host\'s wake-up lag, so that the rejection reaches the caller by the deadline', () => {
    const head = mk(25); // optimistic single run 10: hopeless from 15 on; with a 3 ms lag, to be rejected at 12
    const rest = [mk(300), mk(300), mk(300), mk(300)];
    const d = planLaunch([head, ...rest], strict({ startAt: 10, expiryLeadMs: 3 }));
    expect(d.drop).toEqual([]);
    expect(d.expireAt).toBeGreaterThan(12);
    expect(d.expireAt).toBeLessThan(12.01);
    // Woken then, the device still busy a little longer: the item is dropped (12.02 + 10 + 3 > 25) ...
    expect(planLaunch([head, ...rest], strict({ now: 12.01, startAt: 12.02, expiryLeadMs: 3 })).drop).toEqual([head]);
    // ... where without the lead it would be kept until 15, and rejected as late as the host then acts.
    expect(planLaunch([head, ...rest], strict({ now: 12.01, startAt: 12.02 })).drop).toEqual([]);
  });

  it('with preferGuarded gives the device to items that keep their margin, not to a head that cannot even alone', () => {
    // Guard 1 + 8 learned: alone, the head (due 20) would end at 15 + 9 = 24 > 20; the two others (due 60) fit
    // together (20 + 9 ≤ 60). Too few for a backlog batch (plan size 4), which would pass over the head anyway.
    const head = mk(20);
    const rest = [mk(60), mk(60)];
    const base = strict({ sizeGuardMs: () => 8, launchWhenIdle: true });
    // Without it the head runs alone at once and ends inside its margin (at 15, 5 ms before the deadline at best).
    expect(planLaunch([head, ...rest], base).launch).toEqual([head]);
    const d = planLaunch([head, ...rest], { ...base, preferGuarded: true });
    expect(d.launch).toEqual(rest);
    // The head stays queued (the device may free early), and expires by its deadline.
    expect(d.drop).toEqual([]);
    expect(d.expireAt).toBeCloseTo(10, 2);
    // With nothing that keeps its margin, the head still runs: the device does not idle.
    expect(planLaunch([head], { ...base, preferGuarded: true }).launch).toEqual([head]);
  });

  it('tells when the earliest queued item that is not launched expires', () => {
    const items = [mk(100), mk(60, { costScale: 2 })].sort((a, b) => a.deadline - b.deadline);
    // 60 − 15 × 2 = 30 comes before 100 − 15 = 85.
    const d = planLaunch(items, ctx({ startAt: 5 }));
    expect(d.expireAt).toBeCloseTo(30, 2);
    expect(planLaunch([], ctx()).expireAt).toBeUndefined();
  });
});

describe('skipShrinkingHeadAt (the overload test hosts apply before passing skipShrinkingHead)', () => {
  it('gives the factor 4 from a load of 0.9 of the device, and nothing below it', () => {
    expect(skipShrinkingHeadAt(0.89)).toBeUndefined();
    expect(skipShrinkingHeadAt(0.9)).toBe(4);
    expect(skipShrinkingHeadAt(2.5)).toBe(4);
    expect(skipShrinkingHeadAt(0)).toBeUndefined();
  });
});
