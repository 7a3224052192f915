import { describe, expect, it } from 'vitest';
import type { SchedulableItem } from '@epara/core/scheduling';
import { admissionCheck, type AdmissionContext } from './admission.js';

const ctx: AdmissionContext = { startAt: 100, aloneMs: 5, perItemMs: 2, bigBatchMs: 10 };
let seq = 0;
const queued = (deadline: number, costScale?: number): SchedulableItem => ({ seq: seq++, deadline, priority: 0, ...(costScale ? { costScale } : {}) });

describe('admissionCheck', () => {
  it('refuses as expired what cannot finish even if it started first (cost scale included)', () => {
    expect(admissionCheck([], { deadline: 105, priority: 0 }, ctx)).toEqual({ ok: true });
    expect(admissionCheck([], { deadline: 104.9, priority: 0 }, ctx)).toEqual({ ok: false, reason: 'expired', ahead: 0, finishAt: 105 });
    expect(admissionCheck([], { deadline: 109, priority: 0, costScale: 2 }, ctx)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('counts the work queued ahead in EDF order at the best per-item rate, and only that', () => {
    // Five items due at 130 ahead of an item due at 114: all later than it, none counts.
    const later = Array.from({ length: 5 }, () => queued(130));
    expect(admissionCheck(later, { deadline: 114, priority: 0 }, ctx)).toEqual({ ok: true });
    // Five items due at 120 ahead of an item due at 114 + 5·2 - 1: 100 + 5·2 + 5 = 115 > 114.
    const earlier = Array.from({ length: 5 }, () => queued(120));
    expect(admissionCheck(earlier, { deadline: 114, priority: 0 }, ctx)).toEqual({ ok: true });
    expect(admissionCheck(earlier, { deadline: 120, priority: 0 }, ctx)).toEqual({ ok: true });
    // Twelve due at 120 ahead of one due at 120: the first eight can still finish (start ≤ 115) and delay it;
    // the last four could not (the launch rule will drop them) and do not.
    const many = Array.from({ length: 12 }, () => queued(120));
    expect(admissionCheck(many, { deadline: 120, priority: 0 }, ctx)).toMatchObject({ ok: false, reason: 'backlog', ahead: 8, finishAt: 100 + 16 + 5 });
    // A larger queued input takes proportionally longer.
    // Eight of them start by 128 and can still finish (alone 10 ms at scale 2); the new one (scale 2) ends at 142.
    const scaled = Array.from({ length: 10 }, () => queued(140, 2));
    expect(admissionCheck(scaled, { deadline: 140, priority: 0, costScale: 2 }, { ...ctx, bigBatchMs: 1 })).toMatchObject({ ok: false, reason: 'backlog', ahead: 8, finishAt: 142 });
  });

  it('passes over a queued item a big batch holding the new one would skip, never one due with it', () => {
    // Due at 108: before a big batch starting at 100 ends (110); the new item (due 130) rides that batch.
    const nearExpiry = Array.from({ length: 20 }, () => queued(108));
    expect(admissionCheck(nearExpiry, { deadline: 130, priority: 0 }, ctx)).toEqual({ ok: true });
    // The same items ahead of one due with them (108): no batch passes over them; the two that can still
    // finish (start ≤ 103) count, the rest are doomed and do not.
    expect(admissionCheck(nearExpiry, { deadline: 108, priority: 0 }, ctx)).toMatchObject({ ok: false, reason: 'backlog', ahead: 2, finishAt: 109 });
  });

  it('puts a higher priority ahead of equal deadlines, never of earlier ones', () => {
    const same = Array.from({ length: 12 }, () => queued(120));
    expect(admissionCheck(same, { deadline: 120, priority: 1 }, ctx)).toEqual({ ok: true });
    // Due earlier at a lower priority: still ahead in EDF order. Six start by 110 and finish by 115 (a seventh
    // could not); the new one (due 116) would end at 117.
    const earlier = Array.from({ length: 7 }, () => queued(115));
    expect(admissionCheck(earlier, { deadline: 116, priority: 1 }, { ...ctx, bigBatchMs: 1 })).toMatchObject({ ok: false, reason: 'backlog', ahead: 6, finishAt: 117 });
  });

  it('passes over items due just before a big batch ends only when the new item is due at its end or later', () => {
    const tight = { startAt: 100, aloneMs: 1, perItemMs: 2, bigBatchMs: 10 };
    // Due at 109.9, before a big batch from 100 ends (110): a new item due at 110 rides that batch.
    const near = Array.from({ length: 10 }, () => queued(109.9));
    expect(admissionCheck(near, { deadline: 110, priority: 0 }, tight)).toEqual({ ok: true });
    // Due at 109.95, the new item is not held by such a batch: the five that can finish delay it to 111.
    expect(admissionCheck(near, { deadline: 109.95, priority: 0 }, tight)).toMatchObject({ ok: false, reason: 'backlog', ahead: 5, finishAt: 111 });
    // A queued input twice the size makes the big batch twice as long (it ends at 120): items due at 111 are
    // passed over for a new item due at 112 that the batch holds. Counted, three would end it at 113.
    const big = Array.from({ length: 10 }, () => queued(111, 2));
    expect(admissionCheck(big, { deadline: 112, priority: 0 }, tight)).toEqual({ ok: true });
  });
});

describe('admissionCheck and doomed items', () => {
  it('does not count queued items that cannot finish by their own deadline (the launch rule drops them)', () => {
    const ctx = { startAt: 100, aloneMs: 10, perItemMs: 5, bigBatchMs: 40 };
    // 50 items already past saving: due before they could finish even if started now.
    const doomed = Array.from({ length: 50 }, (_, i) => ({ deadline: 101 + (i % 5), priority: 0 }) as never);
    expect(admissionCheck(doomed, { deadline: 130, priority: 0 }, ctx)).toEqual({ ok: true });
    // Items due with it that can still finish do delay it: five start by 120, then it would end at 135.
    const live = Array.from({ length: 50 }, () => ({ deadline: 130, priority: 0 }) as never);
    expect(admissionCheck(live, { deadline: 130, priority: 0 }, ctx)).toMatchObject({ ok: false, reason: 'backlog', ahead: 5, finishAt: 135 });
  });
});
