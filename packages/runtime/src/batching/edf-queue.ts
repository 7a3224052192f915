import { edfCompare, type WorkItem } from './work-item.js';

/**
 * Items in earliest-deadline-first order. A sorted array with binary insertion: queues hold at most a few
 * thousand items, and the batcher scans them in order, which a heap cannot do cheaply.
 */
export class EdfQueue {
  readonly #items: WorkItem[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Items in EDF order (do not mutate). */
  get items(): readonly WorkItem[] {
    return this.#items;
  }

  push(item: WorkItem): void {
    const a = this.#items;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edfCompare(a[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    a.splice(lo, 0, item);
  }

  /** Removes one item; false when it is not queued (already dispatched or settled). */
  remove(item: WorkItem): boolean {
    const i = this.#items.indexOf(item);
    if (i < 0) return false;
    this.#items.splice(i, 1);
    return true;
  }

  /** Removes several items at once (keeps order of the rest). */
  removeAll(items: ReadonlySet<WorkItem>): void {
    if (items.size === 0) return;
    let w = 0;
    const a = this.#items;
    for (let r = 0; r < a.length; r++) if (!items.has(a[r]!)) a[w++] = a[r]!;
    a.length = w;
  }

  /** Empties the queue, returning what it held. */
  drain(): WorkItem[] {
    return this.#items.splice(0);
  }
}
