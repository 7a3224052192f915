import { edfCompare, type SchedulableItem } from './work-item.js';

/**
 * Items in earliest-deadline-first order ({@link edfCompare}). A sorted array with binary insertion: queues
 * hold at most a few thousand items and the launch rule scans them in order, which a heap cannot do cheaply.
 *
 * @example
 * ```ts
 * const q = new EdfQueue<SchedulableItem>();
 * q.push({ seq: 0, deadline: 20, priority: 0 });
 * q.peek()?.deadline; // 20
 * ```
 */
export class EdfQueue<T extends SchedulableItem = SchedulableItem> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Items in EDF order (do not mutate). */
  get items(): readonly T[] {
    return this.#items;
  }

  /** The earliest-deadline item, if any. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const a = this.#items;
    const n = a.length;
    // An emptied queue has no backing store left (emptying an array drops it): a one-slot literal instead of a
    // push, which would grow a 17-slot store for what is most often the only item before the next launch.
    if (n === 0) {
      this.#items = [item];
      return;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edfCompare(a[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    a.push(item);
    // Shifted in place: `splice` would also build an (empty) array of removed items.
    for (let i = n; i > lo; i--) a[i] = a[i - 1]!;
    a[lo] = item;
  }

  /** Removes one item; false when it is not queued (already dispatched or settled). */
  remove(item: T): boolean {
    const i = this.#items.indexOf(item);
    if (i < 0) return false;
    this.#items.splice(i, 1);
    return true;
  }

  /**
   * Removes several items at once, keeping the order of the rest (linear: one pass over the queue). A launched
   * batch is usually the queue's head in order: that case splices the prefix without building a set.
   */
  removeAll(items: readonly T[] | ReadonlySet<T>): void {
    if (Array.isArray(items)) {
      const list = items as readonly T[];
      const a = this.#items;
      let k = 0;
      while (k < list.length && k < a.length && a[k] === list[k]) k++;
      if (k === list.length) {
        // Shifted in place: `splice` would also build an array of the removed items.
        const n = a.length;
        for (let i = k; i < n; i++) a[i - k] = a[i]!;
        if (k > 0) a.length = n - k;
        return;
      }
    }
    const set = items instanceof Set ? items : new Set(items as readonly T[]);
    if (set.size === 0) return;
    let w = 0;
    const a = this.#items;
    for (let r = 0; r < a.length; r++) if (!set.has(a[r]!)) a[w++] = a[r]!;
    if (w !== a.length) a.length = w;
  }

  /** Empties the queue, returning what it held. */
  drain(): T[] {
    return this.#items.splice(0);
  }
}
