/**
 * Binary insertion and removal in the ascending prefix `a[0..n)` of a typed array: the sorted windows of the
 * latency trackers, kept sorted as observations arrive and leave instead of sorted again on every read.
 */

/** Inserts `x` into the ascending prefix `a[0..n)`, after values equal to it; returns the new count. */
export function insertSorted(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n) a.copyWithin(lo + 1, lo, n);
  a[lo] = x;
  return n + 1;
}

/** Removes one value equal to `x` from the ascending prefix `a[0..n)` (it is there); returns the new count. */
export function removeSorted(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n - 1) a.copyWithin(lo, lo + 1, n);
  return n - 1;
}
