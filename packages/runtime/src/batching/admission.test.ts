import { describe, expect, it } from 'vitest';
import type { SchedulableItem } from '@epara/core/scheduling';
import { admissionCheck, type AdmissionContext } from './admission.js';

const ctx: AdmissionContext = { startAt: 100, aloneMs: 5, perItemMs: 2, bigBatchMs: 10 };
let seq = 0;
const queued = (deadline: number, costScale?: number): SchedulableItem => ({ seq: seq++, deadline, priority: 0, ...(costScale ? { costScale } : {}) });

describe('admissionCheck', () => {
  it('refuses as expired what cannot finish even if it started first (cost scale included)', () => {
    expect(admissionCheck([], { deadline: 105, priority: 0 }, ctx)).toEqual({ ok: true });
    expect(admissionCheck([], { deadline: 104.9, priority: 0 }, ctx)).toMatchObject({ ok: false, reason: 'expired', ahead: 0 });
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
    const many = Array.from({ length: 12 }, () => queued(120));
    expect(admissionCheck(many, { deadline: 120, priority: 0 }, ctx)).toMatchObject({ ok: false, reason: 'backlog', ahead: 12, finishAt: 100 + 24 + 5 });
    // A larger queued input takes proportionally longer.
    const scaled = Array.from({ length: 10 }, () => queued(140, 2));
    expect(admissionCheck(scaled, { deadline: 140, priority: 0 }, { ...ctx, bigBatchMs: 1 })).toMatchObject({ ok: false, reason: 'backlog', ahead: 10, finishAt: 145 });
  });

  it('passes over a queued item a big batch holding the new one would skip, never one due with it', () => {
    // Due at 108: before a big batch starting at 100 ends (110); the new item (due 130) rides that batch.
    const nearExpiry = Array.from({ length: 20 }, () => queued(108));
    expect(admissionCheck(nearExpiry, { deadline: 130, priority: 0 }, ctx)).toEqual({ ok: true });
    // The same items ahead of one due at 109: it cannot ride a batch past them, so they count.
    expect(admissionCheck(nearExpiry, { deadline: 109, priority: 0 }, ctx)).toMatchObject({ ok: false, reason: 'backlog' });
  });

  it('puts a higher priority ahead of equal deadlines', () => {
    const same = Array.from({ length: 12 }, () => queued(120));
    expect(admissionCheck(same, { deadline: 120, priority: 1 }, ctx)).toEqual({ ok: true });
  });
});
