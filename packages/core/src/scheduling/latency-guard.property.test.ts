import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyGuard, resolveLatencyGuardOptions, type LatencyGuardOptions } from './latency-guard.js';
import { RecentWindow } from './recent-window.js';

// Seeded: deterministic in CI; fast-check prints the seed and path of any failure. Explore with FC_SEED / FC_RUNS.
const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 200), seed: Number(process.env.FC_SEED ?? 20261205) };

/**
 * The guard as it was before its windows were kept sorted: every stale answer scans its window and sorts the
 * recent observations. The incremental guard must answer exactly as this does (same bits), for any sequence.
 */
class SortingGuard {
  readonly #o: LatencyGuardOptions;
  readonly #all: Ring;
  readonly #classes: (Ring | undefined)[] = [];
  constructor(options: Partial<LatencyGuardOptions>) {
    this.#o = resolveLatencyGuardOptions(options);
    this.#all = new Ring(this.#o.window);
  }
  observe(o: { n: number; predictedMs: number; actualMs: number; at: number }): void {
    const excess = o.actualMs - o.predictedMs;
    if (!Number.isFinite(excess) || !Number.isFinite(o.at)) return;
    this.#all.push(o.at, excess);
    (this.#classes[o.n >= 1 ? Math.floor(Math.log2(o.n)) : 0] ??= new Ring(this.#o.window)).push(o.at, excess);
  }
  quantileMs(n: number, now: number, q: number): number {
    const own = this.#classes[n >= 1 ? Math.floor(Math.log2(n)) : 0];
    const mine = own === undefined ? undefined : this.#quantile(own, now, this.#o.minClassSamples, q);
    return mine ?? this.#quantile(this.#all, now, this.#o.minSamples, q) ?? 0;
  }
  #quantile(r: Ring, now: number, minSamples: number, q: number): number | undefined {
    if (now >= r.validUntil) refreshRing(r, now, this.#o.maxAgeMs);
    const k = r.sortedCount;
    if (k < Math.max(1, minSamples)) return undefined;
    const i = Math.min(Math.floor(Math.min(1, Math.max(0, q)) * k), k > 1 ? k - 2 : 0);
    return Math.min(this.#o.maxExcessMs, Math.max(0, r.sorted[i]!));
  }
}

/** The reference's refresh of one window: scan, sort, and when the snapshot goes stale. */
function refreshRing(r: Ring, now: number, maxAgeMs: number): void {
  const since = now - maxAgeMs;
  let k = 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < r.count; i++) {
    if (r.at[i]! < since) continue;
    r.sorted[k++] = r.excess[i]!;
    if (r.at[i]! < oldest) oldest = r.at[i]!;
  }
  r.sorted.subarray(0, k).sort();
  r.sortedCount = k;
  r.validUntil = k > 0 ? oldest + maxAgeMs : Number.POSITIVE_INFINITY;
}

class Ring {
  readonly at: Float64Array;
  readonly excess: Float64Array;
  readonly sorted: Float64Array;
  sortedCount = 0;
  count = 0;
  next = 0;
  validUntil = Number.NEGATIVE_INFINITY;
  constructor(window: number) {
    this.at = new Float64Array(window);
    this.excess = new Float64Array(window);
    this.sorted = new Float64Array(window);
  }
  push(at: number, excess: number): void {
    this.at[this.next] = at;
    this.excess[this.next] = excess;
    this.next = (this.next + 1) % this.at.length;
    if (this.count < this.at.length) this.count++;
    this.validUntil = Number.NEGATIVE_INFINITY;
  }
}

/** One step: an observation, or a question (a quantile for a batch size at a time). */
type Step = { kind: 'observe'; n: number; predictedMs: number; actualMs: number; dt: number } | { kind: 'ask'; n: number; q: number; dt: number; offset: number };

/** Excess values with many ties and both signs of zero (ties and zeros are where an insertion could misplace). */
const msArb = fc.oneof(fc.constantFrom(0, -0, 1, 2.5, 10), fc.double({ min: -50, max: 200, noNaN: true }), fc.integer({ min: -5, max: 40 }));
/**
 * Time steps: mostly forward (the caller's clock), some back (a pure caller may pass any time), some long gaps;
 * whole milliseconds half the time, so that observations sit exactly on the age limit.
 */
const dtArb = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: 0, max: 40, noNaN: true }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 1, arbitrary: fc.double({ min: -300, max: 0, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 50, 200, 500, 2000, 2500, 10_000) },
);
/** A question about another moment than the last observation's: the past (the window as it was) or the future. */
const offsetArb = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: -2500, max: 2500 }) }, { weight: 1, arbitrary: fc.constantFrom(-2000, -200, -50, 50, 200, 2000) });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('observe' as const), n: fc.integer({ min: 0, max: 64 }), predictedMs: msArb, actualMs: msArb, dt: dtArb }),
  fc.record({ kind: fc.constant('ask' as const), n: fc.integer({ min: 0, max: 64 }), q: fc.constantFrom(0, 0.5, 0.98, 1, 0.9), dt: dtArb, offset: offsetArb }),
);
const optionsArb = fc.record({ window: fc.integer({ min: 1, max: 24 }), maxAgeMs: fc.constantFrom(50, 200, 2000), minSamples: fc.integer({ min: 0, max: 6 }), minClassSamples: fc.integer({ min: 0, max: 10 }), quantile: fc.constantFrom(0.98, 0.5) });

function replay(options: Partial<LatencyGuardOptions>, steps: readonly Step[], orderedTime: boolean): void {
  const guard = new LatencyGuard(options);
  const reference = new SortingGuard(options);
  let t = 0;
  for (const s of steps) {
    t += orderedTime ? Math.abs(s.dt) : s.dt;
    if (s.kind === 'observe') {
      const o = { n: s.n, predictedMs: s.predictedMs, actualMs: s.actualMs, at: t };
      guard.observe(o);
      reference.observe(o);
    } else {
      // Object.is: the same number, the same sign of zero. Asking about other moments leaves the clock where it was.
      const now = t + s.offset;
      expect(Object.is(guard.quantileMs(s.n, now, s.q), reference.quantileMs(s.n, now, s.q))).toBe(true);
      expect(Object.is(guard.excessMs(s.n, now), reference.quantileMs(s.n, now, resolveLatencyGuardOptions(options).quantile))).toBe(true);
    }
  }
}

/** Another batch size of the size class of `n` (1, 2–3, 4–7, …), picked by `pick`. */
function sameClass(n: number, pick: number): number {
  if (n < 2) return n;
  const lo = 2 ** Math.floor(Math.log2(n));
  return lo + (pick % lo);
}

describe('LatencyGuard answering a question asked again', () => {
  it('answers as the reference when asked twice at one time (another size of the class), observations at that time between', () => {
    const askArb = fc.record({ n: fc.integer({ min: 0, max: 64 }), pick: fc.nat(), q: fc.constantFrom(0.5, 0.98, 0.9), observeBetween: fc.boolean(), excess: msArb, dt: fc.integer({ min: 0, max: 700 }) });
    fc.assert(
      fc.property(optionsArb, fc.array(askArb, { minLength: 1, maxLength: 300 }), (options, asks) => {
        const guard = new LatencyGuard(options);
        const reference = new SortingGuard(options);
        let t = 0;
        for (const a of asks) {
          t += a.dt;
          const o = { n: a.n, predictedMs: 0, actualMs: a.excess, at: t };
          guard.observe(o);
          reference.observe(o);
          expect(Object.is(guard.quantileMs(a.n, t, a.q), reference.quantileMs(a.n, t, a.q))).toBe(true);
          if (a.observeBetween) {
            guard.observe(o);
            reference.observe(o);
          }
          const again = sameClass(a.n, a.pick);
          expect(Object.is(guard.quantileMs(again, t, a.q), reference.quantileMs(again, t, a.q))).toBe(true);
          expect(Object.is(guard.excessMs(again, t), reference.quantileMs(again, t, resolveLatencyGuardOptions(options).quantile))).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe('LatencyGuard kept sorted incrementally', () => {
  it('answers every quantile exactly as sorting its window on every stale answer does, with time in order', () => {
    fc.assert(fc.property(optionsArb, fc.array(stepArb, { minLength: 1, maxLength: 400 }), (o, steps) => replay(o, steps, true)), RUNS);
  });

  it('and with time going back now and then (observations out of order, questions about the past)', () => {
    fc.assert(fc.property(optionsArb, fc.array(stepArb, { minLength: 1, maxLength: 400 }), (o, steps) => replay(o, steps, false)), RUNS);
  });

  it('at the default options over a long run with ageing (windows of 128 that fill, roll and age out)', () => {
    const longArb = fc.array(stepArb, { minLength: 500, maxLength: 2000 });
    fc.assert(fc.property(longArb, fc.boolean(), (steps, ordered) => replay({}, steps, ordered)), { ...RUNS, numRuns: 30 });
  });

  it('keeps each window exactly as the sort does: the same recent values, the same staleness, after every step', () => {
    // Windows that roll often and ages near their span: observations cross the age limit one or two at a time.
    // Whole milliseconds mostly, so that observations land exactly on the age limit.
    const stepMsArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: -3, max: 30 }) }, { weight: 1, arbitrary: dtArb });
    const opArb = fc.record({ observe: fc.boolean(), dt: stepMsArb, offset: fc.integer({ min: -200, max: 200 }), excess: msArb });
    const windowArb = fc.record({ window: fc.integer({ min: 1, max: 10 }), maxAgeMs: fc.constantFrom(20, 50, 80, 150) });
    fc.assert(
      fc.property(windowArb, fc.array(opArb, { minLength: 1, maxLength: 300 }), fc.boolean(), ({ window, maxAgeMs }, ops, ordered) => {
        const w = new RecentWindow(window, maxAgeMs);
        const r = new Ring(window);
        let t = 0;
        for (const op of ops) {
          t += ordered ? Math.abs(op.dt) : op.dt;
          if (op.observe) {
            w.push(t, op.excess);
            r.push(t, op.excess);
            continue;
          }
          const now = t + op.offset;
          if (now >= w.validUntil) w.refresh(now);
          if (now >= r.validUntil) refreshRing(r, now, maxAgeMs);
          expect(w.validUntil).toBe(r.validUntil);
          // Equal as numbers, in order (a -0 among the +0s may sit elsewhere: the guard's answers clamp it to +0).
          expect([...w.sorted.subarray(0, w.sortedCount)].map((x) => x + 0)).toEqual([...r.sorted.subarray(0, r.sortedCount)].map((x) => x + 0));
        }
      }),
      RUNS,
    );
  });
});
