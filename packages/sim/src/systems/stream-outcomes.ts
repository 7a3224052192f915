/**
 * Per pinned stream, how many of the frames it sent to its instance came back answered, judged every `window`
 * frames: a stream with fewer than `below × window` answered in a window is failing (its frames expire at the
 * instance, e.g. because they reach it too old from a congested access uplink). What a server knows from the
 * results it returns; EPARA then unpins such a stream so that the rate it holds serves streams that can be served.
 *
 * Streams are told apart by their `id`, a small non-negative integer (the workload numbers its sessions from 0):
 * the tallies are typed arrays indexed by it, since a `Map` keyed by stream cost a hash lookup per frame sent
 * and per frame answered (1.5 % of the simulator's CPU profile at 1000 servers).
 */
export class StreamOutcomes<S extends { readonly id: number }> {
  /** Frames sent in the current window per stream id, −1 before the stream's first frame (or after it was forgotten). */
  #sent = new Int32Array(64).fill(-1);
  /** Frames answered in the current window per stream id. */
  #served = new Int32Array(64);

  /**
   * @param window frames per verdict, ≥ 1.
   * @param below share of a window's frames that must come back answered, in [0, 1].
   */
  constructor(
    readonly window = 20,
    readonly below = 0.1,
  ) {}

  /** Notes a frame `stream` sent to its instance; true when it completes a window in which the stream failed. */
  sent(stream: S): boolean {
    const id = stream.id;
    if (id >= this.#sent.length) this.#grow(id);
    if (this.#sent[id]! < 0) {
      this.#sent[id] = 0;
      this.#served[id] = 0;
    }
    if (++this.#sent[id]! < this.window) return false;
    const failing = this.#served[id]! < this.window * this.below;
    this.#sent[id] = 0;
    this.#served[id] = 0;
    return failing;
  }

  /** Notes a frame of `stream` answered by its instance (ignored for a stream with no frame noted yet). */
  served(stream: S): void {
    const id = stream.id;
    if (id < this.#sent.length && this.#sent[id]! >= 0) this.#served[id]!++;
  }

  /** Forgets a stream (it ended). */
  forget(stream: S): void {
    if (stream.id < this.#sent.length) this.#sent[stream.id] = -1;
  }

  /** Makes room for stream id `id` (doubling, so a run grows the arrays a few times at most). */
  #grow(id: number): void {
    let n = this.#sent.length;
    while (n <= id) n *= 2;
    const sent = new Int32Array(n).fill(-1);
    sent.set(this.#sent);
    const served = new Int32Array(n);
    served.set(this.#served);
    this.#sent = sent;
    this.#served = served;
  }
}
