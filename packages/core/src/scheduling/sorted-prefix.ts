/**
 * Binary insertion and removal in the ascending prefix `a[0..n)` of a typed array: the sorted windows of the
 * latency trackers, kept sorted as observations arrive and leave instead of sorted again on every read.
 *
 * Short shifts are plain loops, long ones one `copyWithin`: that is a call into the runtime, dearer than moving
 * a few values, but a block move for the long runs of equal values a window often holds.
 */

/** Shifts of fewer values than this are plain loops. */
const LOOP_SHIFT = 24;

/** Inserts `x` into the ascending prefix `a[0..n)`, after values equal to it; returns the new count. */
export function insertSorted(a: Float64Array, n: number, x: number): number {
  const at = upperBound(a, 0, n, x);
  shiftRight(a, at, n);
  a[at] = x;
  return n + 1;
}

/** Removes one value equal to `x` from the ascending prefix `a[0..n)` (it is there); returns the new count. */
export function removeSorted(a: Float64Array, n: number, x: number): number {
  const at = lowerBound(a, n, x);
  shiftLeft(a, at, n - 1);
  return n - 1;
}

/**
 * {@link removeSorted} of `old` then {@link insertSorted} of `x` on `a[0..n)` (`old` is there), in one shift:
 * only the values between the two positions move, and none when `x` equals `old`. Leaves the same number in
 * every slot as the two calls (a zero's sign aside, as with a sort: `-0` and `+0` compare equal).
 */
export function replaceSorted(a: Float64Array, n: number, old: number, x: number): void {
  if (x === old) return;
  const from = lowerBound(a, n, old);
  if (x > old) {
    // Every value before `from` is below x: x lands at the last slot whose successor (past `from`) is above x.
    const to = upperBound(a, from + 1, n, x) - 1;
    shiftLeft(a, from, to);
    a[to] = x;
  } else {
    // Every value from `from` on is above x: x lands before them, after the values up to x.
    const to = upperBound(a, 0, from, x);
    shiftRight(a, to, from);
    a[to] = x;
  }
}

/** `a[from..to)` moves one slot right (into `a[from + 1..to]`). */
function shiftRight(a: Float64Array, from: number, to: number): void {
  if (to - from >= LOOP_SHIFT) a.copyWithin(from + 1, from, to);
  else for (let i = to; i > from; i--) a[i] = a[i - 1]!;
}

/** `a(from..to]` moves one slot left (into `a[from..to)`). */
function shiftLeft(a: Float64Array, from: number, to: number): void {
  if (to - from >= LOOP_SHIFT) a.copyWithin(from, from + 1, to + 1);
  else for (let i = from; i < to; i++) a[i] = a[i + 1]!;
}

/** First index in `a[0..n)` whose value is not below `x`. */
function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `a[lo..hi)` whose value is above `x` (`hi` when none is). */
function upperBound(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
