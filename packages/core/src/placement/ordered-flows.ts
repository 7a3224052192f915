const EMPTY_VALUES = new Float64Array(0);
const EMPTY_LINKS = new Int32Array(0);

/**
 * Rows of maps from small non-negative integers (demand nodes, sinks) to positive flows. Each row iterates in
 * insertion order exactly like a `Map<number, number>` — setting a present key keeps its place, deleting and
 * setting it again moves it to the end — but all rows live in a few typed arrays indexed by `row × stride +
 * key`, with a doubly linked list threading each row's present keys. The flow objective sets and deletes flows
 * thousands of times per trial; a `Map` per row allocated a new table whenever a delete shrank it or a set
 * grew it, the placement's largest source of garbage.
 *
 * A key is present exactly when its value is non-zero (the objective stores only flows above its epsilon).
 * Rows and keys beyond the current size grow the arrays (the first set allocates them).
 */
export class OrderedFlows {
  #val = EMPTY_VALUES;
  #next = EMPTY_LINKS;
  #prev = EMPTY_LINKS;
  #head = EMPTY_LINKS;
  #tail = EMPTY_LINKS;
  #rows = 0;
  #stride = 0;
  readonly #rowsHint: number;
  readonly #keysHint: number;

  /** Rows and keys below the hints need no growth after the first set. */
  constructor(rowsHint: number, keysHint: number) {
    this.#rowsHint = Math.max(1, rowsHint);
    this.#keysHint = Math.max(4, keysHint);
  }

  /** The flow of `key` in `row`, 0 when absent. */
  get(row: number, key: number): number {
    return row < this.#rows && key < this.#stride ? this.#val[row * this.#stride + key]! : 0;
  }

  /** Sets a positive flow: a new key goes to the end of its row's order, a present one keeps its place. */
  set(row: number, key: number, value: number): void {
    if (row >= this.#rows || key >= this.#stride) this.#grow(row + 1, key + 1);
    const base = row * this.#stride;
    const val = this.#val;
    if (val[base + key] === 0) {
      const tail = this.#tail[row]!;
      this.#prev[base + key] = tail;
      this.#next[base + key] = -1;
      if (tail < 0) this.#head[row] = key;
      else this.#next[base + tail] = key;
      this.#tail[row] = key;
    }
    val[base + key] = value;
  }

  /** Removes `key` from `row` (nothing when absent). */
  delete(row: number, key: number): void {
    if (row >= this.#rows || key >= this.#stride) return;
    const base = row * this.#stride;
    if (this.#val[base + key] === 0) return;
    this.#val[base + key] = 0;
    const p = this.#prev[base + key]!;
    const n = this.#next[base + key]!;
    if (p < 0) this.#head[row] = n;
    else this.#next[base + p] = n;
    if (n < 0) this.#tail[row] = p;
    else this.#prev[base + n] = p;
  }

  /** First key of `row` in insertion order, or -1 when empty; walk on with {@link OrderedFlows.after}. */
  first(row: number): number {
    return row < this.#rows ? this.#head[row]! : -1;
  }

  /** The key after `key` in `row`'s insertion order, or -1 at the end. */
  after(row: number, key: number): number {
    return this.#next[row * this.#stride + key]!;
  }

  #grow(minRows: number, minKeys: number): void {
    const rows = Math.max(minRows, this.#rows === 0 ? this.#rowsHint : minRows > this.#rows ? 2 * this.#rows : this.#rows);
    const stride = Math.max(minKeys, this.#stride === 0 ? this.#keysHint : minKeys > this.#stride ? 2 * this.#stride : this.#stride);
    const val = new Float64Array(rows * stride);
    const next = new Int32Array(rows * stride);
    const prev = new Int32Array(rows * stride);
    for (let r = 0; r < this.#rows; r++) {
      const from = r * this.#stride;
      const to = from + this.#stride;
      val.set(this.#val.subarray(from, to), r * stride);
      next.set(this.#next.subarray(from, to), r * stride);
      prev.set(this.#prev.subarray(from, to), r * stride);
    }
    const head = new Int32Array(rows).fill(-1);
    const tail = new Int32Array(rows).fill(-1);
    head.set(this.#head);
    tail.set(this.#tail);
    this.#val = val;
    this.#next = next;
    this.#prev = prev;
    this.#head = head;
    this.#tail = tail;
    this.#rows = rows;
    this.#stride = stride;
  }
}
