/**
 * A binary min-heap of simulation events, ordered by time and then by insertion order (so equal-time events
 * run first-in first-out, which makes every run deterministic). Events are stored in parallel typed arrays
 * indexed by a slot; the heap holds slot numbers only, so a push or pop moves integers, never objects, and
 * no closure or wrapper object is allocated per event.
 */
export interface EventQueue {
  /** Number of pending events. */
  readonly size: number;
  /**
   * Schedules an event. `kind` is a small integer the simulation dispatches on, `a` an integer argument
   * (a server or device index) and `ref` an optional object (a request, an instance).
   */
  push(timeMs: number, kind: number, a: number, ref?: unknown): void;
  /** Time of the earliest event, or `Infinity` when empty. */
  peekTime(): number;
  /**
   * Removes the earliest event and exposes it through {@link EventQueue.time}, {@link EventQueue.kind},
   * {@link EventQueue.a} and {@link EventQueue.ref} until the next pop. Returns false when empty.
   */
  pop(): boolean;
  /** Fields of the event last popped. */
  readonly time: number;
  readonly kind: number;
  readonly a: number;
  readonly ref: unknown;
}

/** Creates an empty {@link EventQueue} with room for `initialCapacity` events (it grows as needed). */
export function createEventQueue(initialCapacity = 1024): EventQueue {
  return new HeapEventQueue(Math.max(16, initialCapacity));
}

class HeapEventQueue implements EventQueue {
  #times: Float64Array;
  #seqs: Float64Array;
  #kinds: Int32Array;
  #args: Float64Array;
  #refs: unknown[];
  #heap: Int32Array;
  #free: Int32Array;
  #freeCount = 0;
  #nextSlot = 0;
  #size = 0;
  #seq = 0;
  time = 0;
  kind = 0;
  a = 0;
  ref: unknown = undefined;

  constructor(capacity: number) {
    this.#times = new Float64Array(capacity);
    this.#seqs = new Float64Array(capacity);
    this.#kinds = new Int32Array(capacity);
    this.#args = new Float64Array(capacity);
    this.#refs = new Array<unknown>(capacity);
    this.#heap = new Int32Array(capacity);
    this.#free = new Int32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(timeMs: number, kind: number, a: number, ref?: unknown): void {
    if (this.#size === this.#heap.length) this.#grow();
    const slot = this.#freeCount > 0 ? this.#free[--this.#freeCount]! : this.#nextSlot++;
    this.#times[slot] = timeMs;
    this.#seqs[slot] = this.#seq++;
    this.#kinds[slot] = kind;
    this.#args[slot] = a;
    this.#refs[slot] = ref;
    this.#siftUp(this.#size++, slot);
  }

  peekTime(): number {
    return this.#size === 0 ? Infinity : this.#times[this.#heap[0]!]!;
  }

  pop(): boolean {
    if (this.#size === 0) return false;
    const heap = this.#heap;
    const slot = heap[0]!;
    this.time = this.#times[slot]!;
    this.kind = this.#kinds[slot]!;
    this.a = this.#args[slot]!;
    this.ref = this.#refs[slot];
    this.#refs[slot] = undefined;
    this.#free[this.#freeCount++] = slot;
    const last = heap[--this.#size]!;
    if (this.#size > 0) this.#siftDown(0, last);
    return true;
  }

  #siftUp(pos: number, slot: number): void {
    const heap = this.#heap;
    const times = this.#times;
    const seqs = this.#seqs;
    const t = times[slot]!;
    const q = seqs[slot]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const p = heap[parent]!;
      const tp = times[p]!;
      if (tp < t || (tp === t && seqs[p]! < q)) break;
      heap[pos] = p;
      pos = parent;
    }
    heap[pos] = slot;
  }

  /**
   * Removes the root: the hole walks down to a leaf along the smaller children (one comparison per level),
   * then `slot` (the former last element, usually a large key) sifts up from there. Same order as the textbook
   * sift-down — (time, seq) is a strict total order — with about half the comparisons.
   */
  #siftDown(pos: number, slot: number): void {
    const heap = this.#heap;
    const times = this.#times;
    const seqs = this.#seqs;
    const n = this.#size;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      let c = heap[child]!;
      const right = child + 1;
      if (right < n) {
        const r = heap[right]!;
        const tr = times[r]!;
        const tc = times[c]!;
        if (tr < tc || (tr === tc && seqs[r]! < seqs[c]!)) {
          child = right;
          c = r;
        }
      }
      heap[pos] = c;
      pos = child;
    }
    this.#siftUp(pos, slot);
  }

  #grow(): void {
    const cap = this.#heap.length * 2;
    const grow = <T extends Float64Array | Int32Array>(src: T, make: (n: number) => T): T => {
      const dst = make(cap);
      dst.set(src);
      return dst;
    };
    this.#times = grow(this.#times, (n) => new Float64Array(n));
    this.#seqs = grow(this.#seqs, (n) => new Float64Array(n));
    this.#kinds = grow(this.#kinds, (n) => new Int32Array(n));
    this.#args = grow(this.#args, (n) => new Float64Array(n));
    this.#heap = grow(this.#heap, (n) => new Int32Array(n));
    this.#free = grow(this.#free, (n) => new Int32Array(n));
    this.#refs.length = cap;
  }
}
