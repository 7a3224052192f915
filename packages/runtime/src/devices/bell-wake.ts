/*
 * The doorbell's wake protocol (the futex fast path), on its own so that a test can run it on real threads with
 * pauses between its steps. A thread about to wait on a counter marks itself parked, then waits only if the counter
 * still holds the value it last read (`Atomics.waitAsync` compares and enqueues at once). The other side bumps the
 * counter, then notifies only if it swaps the mark from 1 to 0. All four steps are sequentially consistent atomics:
 * either the waker's swap comes after the mark (it notifies; the mark's swap makes that once per park), or its bump
 * came before the sleeper's compare (which then does not wait). No wake-up is lost, and a thread that is running is
 * never notified: it reads the counter before it parks again.
 */

type WaitAsyncResult = { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> };

/** `Atomics.waitAsync` (ES2024; Node 16+), typed: the package's TypeScript lib predates it. */
export function waitAsync(words: Int32Array, index: number, value: number): WaitAsyncResult {
  return (Atomics as unknown as { waitAsync(w: Int32Array, i: number, v: number): WaitAsyncResult }).waitAsync(words, index, value);
}

/**
 * The sleeper's side: marks `words[parked]` and waits for `words[index]` to move from `seen`. A waker that bumped
 * the counter before the mark is seen by the wait's compare (`async: false`); one that bumps it after finds the
 * mark and notifies. The caller clears the mark when it wakes. `pause` runs between the two steps (tests widen the
 * window with it).
 */
export function park(words: Int32Array, parked: number, index: number, seen: number, pause?: () => void): WaitAsyncResult {
  Atomics.store(words, parked, 1);
  pause?.();
  return waitAsync(words, index, seen);
}

/**
 * The waker's side: bumps `words[index]` to `count`, then notifies only a parked sleeper, clearing its mark, so that
 * one park costs at most one notify however many bumps follow. True if it notified. `pause` runs between the steps.
 */
export function wake(words: Int32Array, parked: number, index: number, count: number, pause?: () => void): boolean {
  Atomics.store(words, index, count);
  pause?.();
  if (Atomics.compareExchange(words, parked, 1, 0) !== 1) return false;
  Atomics.notify(words, index);
  return true;
}

/**
 * A worker's side of the protocol: it is awake while it runs (wakers skip the notify) and parks when it has nothing
 * left, having read the counter last at `seen`; `onBell` runs in a later job once the counter moved past it. A wait
 * still outstanding from an earlier park (the thread was woken by something else meanwhile) is kept, not doubled:
 * the mark is set again and the counter read once more, since that wait's compare came before the mark. `pause`
 * runs before the mark and between the protocol's steps (tests widen the windows with it).
 */
export class Sleeper {
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #mark: number;
  readonly #parksAt: number;
  readonly #pause: (() => void) | undefined;
  readonly #bell: () => void;
  readonly #woken: () => void;
  /** Whether a wait is outstanding (it ends at the waker's next notify). */
  #waiting = false;

  /** Waits on `words[index]`, marks itself at `words[mark]` and counts its parks at `words[parksAt]` (it alone writes it). */
  constructor(words: Int32Array, index: number, mark: number, parksAt: number, onBell: () => void, pause?: () => void) {
    this.#words = words;
    this.#index = index;
    this.#mark = mark;
    this.#parksAt = parksAt;
    this.#pause = pause;
    this.#bell = () => {
      this.awake();
      onBell();
    };
    this.#woken = () => {
      this.#waiting = false;
      this.#bell();
    };
  }

  /** The thread runs: a waker need not notify it (it reads the counter before it parks again). */
  awake(): void {
    Atomics.store(this.#words, this.#mark, 0);
  }

  /** Parks with nothing left to run, the counter last read at `seen`. */
  park(seen: number): void {
    const w = this.#words;
    w[this.#parksAt]!++;
    this.#pause?.();
    if (this.#waiting) {
      Atomics.store(w, this.#mark, 1);
      this.#pause?.();
      if (Atomics.load(w, this.#index) !== seen) queueMicrotask(this.#bell);
      return;
    }
    const r = park(w, this.#mark, this.#index, seen, this.#pause);
    if (!r.async) return queueMicrotask(this.#bell); // bumped meanwhile: read in a later job
    this.#waiting = true;
    void r.value.then(this.#woken);
  }
}
