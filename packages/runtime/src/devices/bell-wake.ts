/*
 * The doorbell's wake protocol (the futex fast path), on its own so that a test can run it on real threads with
 * pauses between its steps, and a model of it can be checked over every interleaving (`bell-wake-model.test.ts`).
 * A thread about to wait on a counter it last read at `seen` marks itself parked *for the next count*, `seen + 1`,
 * then waits only if the counter still holds `seen` (`Atomics.waitAsync` compares and enqueues at once). The other
 * side (one thread bumps each counter) bumps the counter to `count`, then notifies only if it swaps the mark from
 * `count` to 0: the waker of the one count the sleeper waits for. All steps are sequentially consistent atomics:
 * either that waker's swap comes after the mark (it notifies; the swap makes that once per park), or its bump came
 * before the sleeper's compare (which then does not wait). A thread that is running is never notified: it reads
 * the counter before it parks again.
 *
 * The mark names the count, not just "parked" (a 1 swapped to 0 by any waker), because a waker's swap can come
 * late: a waker whose bump the sleeper already read, running its swap between the sleeper's next mark and its
 * wait, would take that mark and notify no one (the wait not yet enqueued), and the sleeper would wait unmarked
 * with the next bump skipping its notify: a lost wake-up, found by the exhaustive check and by the threaded test.
 * Under the count's mark that late swap fails (the mark is for a later count), and the mark stays for its waker.
 */

type WaitAsyncResult = { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> };

/** `Atomics.waitAsync` (ES2024; Node 16+), typed: the package's TypeScript lib predates it. */
export function waitAsync(words: Int32Array, index: number, value: number): WaitAsyncResult {
  return (Atomics as unknown as { waitAsync(w: Int32Array, i: number, v: number): WaitAsyncResult }).waitAsync(words, index, value);
}

/**
 * How many bumps a counter read as `count` (an int32: the counters wrap after 2^31 calls) holds past `seen` (a
 * count kept as a plain number on its side). The counters are never more than a few apart, so the int32
 * difference is exact across the wrap, where comparing `seen < count` would stop the ring for good.
 */
export function bumpsPast(seen: number, count: number): number {
  return (count - seen) | 0;
}

/**
 * The mark of a thread parked having read its counter at `seen`: the count whose waker must notify it (int32). Once
 * every 2^32 counts the mark is 0, the awake thread's: that count's waker then swaps 0 for 0 and notifies, needed
 * or not (a spare notify only ends a wait early; the woken thread reads the counter and parks again).
 */
export function markFor(seen: number): number {
  return (seen + 1) | 0;
}

/**
 * The sleeper's side: marks `words[parked]` for the next count and waits for `words[index]` to move from `seen`. A
 * waker that bumped the counter before the mark is seen by the wait's compare (`async: false`); the one that bumps
 * it to `seen + 1` after finds the mark and notifies. The caller clears the mark when it wakes. `pause` runs between
 * the two steps (tests widen the window with it).
 */
export function park(words: Int32Array, parked: number, index: number, seen: number, pause?: () => void): WaitAsyncResult {
  Atomics.store(words, parked, markFor(seen));
  pause?.();
  return waitAsync(words, index, seen);
}

/**
 * The waker's side: bumps `words[index]` to `count`, then notifies only a sleeper parked for that count, clearing
 * its mark, so that one park costs at most one notify however many bumps follow (a late swap of an older count
 * leaves a newer park's mark alone). True if it notified. `pause` runs between the steps.
 */
export function wake(words: Int32Array, parked: number, index: number, count: number, pause?: () => void): boolean {
  Atomics.store(words, index, count);
  pause?.();
  const mark = count | 0;
  if (Atomics.compareExchange(words, parked, mark, 0) !== mark) return false;
  Atomics.notify(words, index);
  return true;
}

/**
 * What a bell rung meanwhile is read behind: a reaction to a resolved promise is a later job like Node's
 * `queueMicrotask`, without its `AsyncResource` and bound callback per call.
 */
const RESOLVED = Promise.resolve();

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
  /** How long {@link park} polls the counter before it marks itself parked, ms (0: not at all). */
  readonly #pollMs: number;
  /** Whether a wait is outstanding (it ends at the waker's next notify). */
  #waiting = false;

  /**
   * Waits on `words[index]`, marks itself at `words[mark]` and counts its parks at `words[parksAt]` (it alone writes
   * it). With `pollUs`, each park first polls the counter for up to that long, unmarked (see {@link park}).
   */
  constructor(words: Int32Array, index: number, mark: number, parksAt: number, onBell: () => void, pause?: () => void, pollUs = 0) {
    this.#words = words;
    this.#pollMs = pollUs / 1000;
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

  /**
   * Parks with nothing left to run, the counter last read at `seen`. With a poll, it first reads the counter until it
   * moves or the poll's time is up, still unmarked (a waker skips the notify): a call rung in meanwhile is taken
   * (`onBell`, in a microtask) without the host's system call or the thread's wake-up through its event loop. The
   * protocol is unchanged: the thread is awake while it polls, and reads the counter again after it marks itself.
   * `poll: false` parks at once (the caller expects its next call by message, which a poll would hold back).
   */
  park(seen: number, poll = true): void {
    const w = this.#words;
    if (poll && this.#pollMs > 0 && this.#polled(seen)) return void RESOLVED.then(this.#bell);
    w[this.#parksAt]!++;
    this.#pause?.();
    if (this.#waiting) {
      Atomics.store(w, this.#mark, markFor(seen));
      this.#pause?.();
      if (bumpsPast(seen, Atomics.load(w, this.#index)) !== 0) void RESOLVED.then(this.#bell);
      return;
    }
    const r = park(w, this.#mark, this.#index, seen, this.#pause);
    if (!r.async) return void RESOLVED.then(this.#bell); // bumped meanwhile: read in a later job
    this.#waiting = true;
    void r.value.then(this.#woken);
  }

  /** Reads the counter until it moves past `seen` (true) or the poll's time is up (false). */
  #polled(seen: number): boolean {
    const w = this.#words;
    const until = performance.now() + this.#pollMs;
    do {
      for (let i = 0; i < 32; i++) if (bumpsPast(seen, Atomics.load(w, this.#index)) !== 0) return true;
    } while (performance.now() < until);
    return false;
  }
}
