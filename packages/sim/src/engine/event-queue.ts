/**
 * A binary min-heap of simulation events, ordered by time and then by insertion order (so equal-time events
 * run first-in first-out, which makes every run deterministic). Payloads are stored in parallel arrays
 * indexed by a slot; the heap holds keys and slot numbers in typed arrays, so a push or pop moves numbers,
 * never objects, and no closure or wrapper object is allocated per event.
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

/**
 * The heap keeps each event's key (time, insertion number) beside its slot, in heap order, so sifting compares
 * neighbouring numbers instead of looking the keys up through the slot; the payload (kind, argument, ref)
 * stays in per-slot arrays and never moves.
 */
class HeapEventQueue implements EventQueue {
  /** Heap order: key and slot of each position. */
  #hTimes: Float64Array;
  #hSeqs: Float64Array;
  #hSlots: Int32Array;
  /** Per slot: the payload. */
  #kinds: Int32Array;
  #args: Float64Array;
  #refs: unknown[];
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
    this.#hTimes = new Float64Array(capacity);
    this.#hSeqs = new Float64Array(capacity);
    this.#hSlots = new Int32Array(capacity);
    this.#kinds = new Int32Array(capacity);
    this.#args = new Float64Array(capacity);
    this.#refs = new Array<unknown>(capacity);
    this.#free = new Int32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(timeMs: number, kind: number, a: number, ref?: unknown): void {
    if (this.#size === this.#hSlots.length) this.#grow();
    const slot = this.#freeCount > 0 ? this.#free[--this.#freeCount]! : this.#nextSlot++;
    this.#kinds[slot] = kind;
    this.#args[slot] = a;
    this.#refs[slot] = ref;
    this.#siftUp(this.#size++, timeMs, this.#seq++, slot);
  }

  peekTime(): number {
    return this.#size === 0 ? Infinity : this.#hTimes[0]!;
  }

  pop(): boolean {
    if (this.#size === 0) return false;
    const slot = this.#hSlots[0]!;
    this.time = this.#hTimes[0]!;
    this.kind = this.#kinds[slot]!;
    this.a = this.#args[slot]!;
    this.ref = this.#refs[slot];
    this.#refs[slot] = undefined;
    this.#free[this.#freeCount++] = slot;
    const last = --this.#size;
    if (last > 0) this.#siftDown(this.#hTimes[last]!, this.#hSeqs[last]!, this.#hSlots[last]!);
    return true;
  }

  /** Moves the hole at `pos` up until `(t, q)` fits, then stores the event there. */
  #siftUp(pos: number, t: number, q: number, slot: number): void {
    const times = this.#hTimes;
    const seqs = this.#hSeqs;
    const slots = this.#hSlots;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const tp = times[parent]!;
      if (tp < t || (tp === t && seqs[parent]! < q)) break;
      times[pos] = tp;
      seqs[pos] = seqs[parent]!;
      slots[pos] = slots[parent]!;
      pos = parent;
    }
    times[pos] = t;
    seqs[pos] = q;
    slots[pos] = slot;
  }

  /**
   * Removes the root: the hole walks down to a leaf along the smaller children (one comparison per level),
   * then the former last event (usually a large key) sifts up from there. Same order as the textbook
   * sift-down — (time, seq) is a strict total order — with about half the comparisons.
   */
  #siftDown(t: number, q: number, slot: number): void {
    const times = this.#hTimes;
    const seqs = this.#hSeqs;
    const slots = this.#hSlots;
    const n = this.#size;
    let pos = 0;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n) {
        const tr = times[right]!;
        const tc = times[child]!;
        if (tr < tc || (tr === tc && seqs[right]! < seqs[child]!)) child = right;
      }
      times[pos] = times[child]!;
      seqs[pos] = seqs[child]!;
      slots[pos] = slots[child]!;
      pos = child;
    }
    this.#siftUp(pos, t, q, slot);
  }

  #grow(): void {
    const cap = this.#hSlots.length * 2;
    const grow = <T extends Float64Array | Int32Array>(src: T, make: (n: number) => T): T => {
      const dst = make(cap);
      dst.set(src);
      return dst;
    };
    this.#hTimes = grow(this.#hTimes, (n) => new Float64Array(n));
    this.#hSeqs = grow(this.#hSeqs, (n) => new Float64Array(n));
    this.#hSlots = grow(this.#hSlots, (n) => new Int32Array(n));
    this.#kinds = grow(this.#kinds, (n) => new Int32Array(n));
    this.#args = grow(this.#args, (n) => new Float64Array(n));
    this.#free = grow(this.#free, (n) => new Int32Array(n));
    this.#refs.length = cap;
  }
}
