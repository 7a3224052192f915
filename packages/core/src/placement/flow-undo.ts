/**
 * The flow objective's undo log as flat numbers instead of one closure per step: trial gains and removal
 * losses write thousands of steps per placement, and a closure (plus its context) per step was a large share
 * of the placement's garbage. Each record is its fields followed by its tag, so the log replays backwards.
 */

/** A flow value `(i, j) ← old` to restore. */
export const UNDO_FLOW = 0;
/** The scalars of one shift to restore: residual of `i`, load of sink `j`, served, remaining. */
const UNDO_SCALARS = 1;
/** Sink `j` alive again. */
export const UNDO_ALIVE = 2;

/** A growable stack of numbers; `n` is its length (kept apart from the buffer so emptying it frees nothing). */
export class UndoLog {
  a = new Float64Array(256);
  n = 0;

  /** Makes room for `k` more numbers. */
  reserve(k: number): Float64Array {
    if (this.n + k > this.a.length) {
      const b = new Float64Array(Math.max(2 * this.a.length, this.n + k));
      b.set(this.a.subarray(0, this.n));
      this.a = b;
    }
    return this.a;
  }

  /** Records `(i, j) ← old`. */
  flow(i: number, j: number, old: number): void {
    const a = this.reserve(4);
    let n = this.n;
    a[n++] = i;
    a[n++] = j;
    a[n++] = old;
    a[n++] = UNDO_FLOW;
    this.n = n;
  }

  /** Records the scalars of a shift. */
  scalars(i: number, j: number, residual: number, load: number, served: number, remaining: number): void {
    const a = this.reserve(7);
    let n = this.n;
    a[n++] = i;
    a[n++] = j;
    a[n++] = residual;
    a[n++] = load;
    a[n++] = served;
    a[n++] = remaining;
    a[n++] = UNDO_SCALARS;
    this.n = n;
  }

  /** Records that sink `j` was alive. */
  alive(j: number): void {
    const a = this.reserve(2);
    a[this.n++] = j;
    a[this.n++] = UNDO_ALIVE;
  }
}
