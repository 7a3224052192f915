/**
 * When a device that runs batches one after another will be free: the batches it holds (one running, the
 * rest waiting on the device) with their expected run times. It re-anchors on every completion — the next
 * batch starts when the last one actually ended — so the prediction never drifts early under a steady
 * backlog, and a batch that overruns its estimate pushes the free time out as it runs.
 *
 * Pure (the caller passes the time); a handful of numbers per device, no allocation per batch beyond the
 * array slot.
 *
 * @example
 * ```ts
 * const t = new DeviceTimeline();
 * const start = t.dispatch(now, 5); // the batch starts at `start`, expected to take 5 ms
 * t.complete(clock.now());          // it ended: the next one starts now
 * t.freeAt(clock.now());
 * ```
 */
export class DeviceTimeline {
  /** Expected run times of the held batches, oldest (running) first. */
  readonly #expected: number[] = [];
  /** When the running batch started (its predecessor's actual end, or its dispatch to an idle device). */
  #anchor = 0;

  /** Batches the device holds (running and waiting). */
  get held(): number {
    return this.#expected.length;
  }

  /**
   * Expected time the device can start another batch: now when idle; otherwise the later of now and the
   * running batch's expected end, plus the expected run of every batch waiting behind it.
   */
  freeAt(now: number): number {
    const e = this.#expected;
    if (e.length === 0) return now;
    let t = Math.max(now, this.#anchor + e[0]!);
    for (let i = 1; i < e.length; i++) t += e[i]!;
    return t;
  }

  /** Records a batch handed to the device at `now` with expected run `expectedMs`; returns its expected start. */
  dispatch(now: number, expectedMs: number): number {
    const start = this.freeAt(now);
    if (this.#expected.length === 0) this.#anchor = now;
    this.#expected.push(expectedMs);
    return start;
  }

  /** Records that the oldest held batch ended at `now`: the next one (if any) starts then. */
  complete(now: number): void {
    if (this.#expected.length === 0) return;
    this.#expected.shift();
    this.#anchor = now;
  }

  /** Forgets every held batch (device restarted or failed). */
  reset(): void {
    this.#expected.length = 0;
  }
}
