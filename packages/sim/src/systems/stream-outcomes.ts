/**
 * Per pinned stream, how many of the frames it sent to its instance came back answered, judged every `window`
 * frames: a stream with fewer than `below × window` answered in a window is failing (its frames expire at the
 * instance, e.g. because they reach it too old from a congested access uplink). What a server knows from the
 * results it returns; EPARA then unpins such a stream so that the rate it holds serves streams that can be served.
 */
export class StreamOutcomes<S extends object> {
  readonly #tally = new Map<S, { sent: number; served: number }>();

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
    let t = this.#tally.get(stream);
    if (t === undefined) this.#tally.set(stream, (t = { sent: 0, served: 0 }));
    if (++t.sent < this.window) return false;
    const failing = t.served < this.window * this.below;
    t.sent = 0;
    t.served = 0;
    return failing;
  }

  /** Notes a frame of `stream` answered by its instance (ignored for a stream with no frame noted yet). */
  served(stream: S): void {
    const t = this.#tally.get(stream);
    if (t !== undefined) t.served++;
  }

  /** Forgets a stream (it ended). */
  forget(stream: S): void {
    this.#tally.delete(stream);
  }
}
