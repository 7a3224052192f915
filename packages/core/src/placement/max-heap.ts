/**
 * A binary max-heap of item indices keyed by a number; equal keys pop the lower index first, so results are
 * deterministic and equal to an eager scan's argmax.
 */
export interface MaxHeap {
  readonly size: number;
  /** The index on top, or -1 when empty. */
  top(): number;
  key(item: number): number;
  push(item: number, key: number): void;
  pop(): number;
  /** Lowers the top item's key and restores the heap. */
  updateTop(key: number): void;
}

/** Creates a heap for item indices in `[0, capacity)`. */
export function createMaxHeap(capacity: number): MaxHeap {
  const heap = new Int32Array(capacity);
  const keys = new Float64Array(capacity);
  let size = 0;
  const above = (a: number, b: number): boolean => keys[a]! > keys[b]! || (keys[a] === keys[b] && a < b);
  const up = (pos: number): void => {
    const item = heap[pos]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!above(item, heap[parent]!)) break;
      heap[pos] = heap[parent]!;
      pos = parent;
    }
    heap[pos] = item;
  };
  const down = (pos: number): void => {
    const item = heap[pos]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= size) break;
      if (child + 1 < size && above(heap[child + 1]!, heap[child]!)) child++;
      if (!above(heap[child]!, item)) break;
      heap[pos] = heap[child]!;
      pos = child;
    }
    heap[pos] = item;
  };
  return {
    get size() {
      return size;
    },
    top: () => (size > 0 ? heap[0]! : -1),
    key: (item) => keys[item]!,
    push(item, key) {
      keys[item] = key;
      heap[size++] = item;
      up(size - 1);
    },
    pop() {
      const item = heap[0]!;
      size--;
      if (size > 0) {
        heap[0] = heap[size]!;
        down(0);
      }
      return item;
    },
    updateTop(key) {
      keys[heap[0]!] = key;
      down(0);
    },
  };
}
