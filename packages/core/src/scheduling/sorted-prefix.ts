/**
 * Binary insertion and removal in the ascending prefix `a[0..n)` of a typed array: the sorted windows of the
 * latency trackers, kept sorted as observations arrive and leave instead of sorted again on every read.
 *
 * The shifts are plain loops: `copyWithin` is a call into the runtime, dearer than moving the few dozen values a
 * window of 128 shifts on average.
 */

/** Inserts `x` into the ascending prefix `a[0..n)`, after values equal to it; returns the new count. */
export function insertSorted(a: Float64Array, n: number, x: number): number {
  const at = upperBound(a, 0, n, x);
  for (let i = n; i > at; i--) a[i] = a[i - 1]!;
  a[at] = x;
  return n + 1;
}

/** Removes one value equal to `x` from the ascending prefix `a[0..n)` (it is there); returns the new count. */
export function removeSorted(a: Float64Array, n: number, x: number): number {
  const at = lowerBound(a, n, x);
  for (let i = at; i < n - 1; i++) a[i] = a[i + 1]!;
  return n - 1;
}

/**
 * {@link removeSorted} of `old` then {@link insertSorted} of `x` on `a[0..n)` (`old` is there), in one shift:
 * only the values between the two positions move. Leaves exactly the array the two calls leave.
 */
export function replaceSorted(a: Float64Array, n: number, old: number, x: number): void {
  const from = lowerBound(a, n, old);
  if (x >= old) {
    // Every value before `from` is ≤ x: x lands at the last slot whose successor (past `from`) is > x.
    const to = upperBound(a, from + 1, n, x) - 1;
    for (let i = from; i < to; i++) a[i] = a[i + 1]!;
    a[to] = x;
  } else {
    // Every value from `from` on is > x: x lands before them, after the values ≤ x.
    const to = upperBound(a, 0, from, x);
    for (let i = from; i > to; i--) a[i] = a[i - 1]!;
    a[to] = x;
  }
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
