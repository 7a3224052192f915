/**
 * Recent arrivals as an exponentially decaying count (time constant 1 s): items/s directed at an instance,
 * updated in O(1) per arrival without keeping timestamps.
 */
export class ArrivalRate {
  #rate = 0;
  #last = 0;

  /** Counts an arrival at `now`, clock ms. */
  arrived(now: number): void {
    const dt = Math.max(0, now - this.#last) / 1000;
    this.#rate = this.#rate * Math.exp(-dt) + 1;
    this.#last = now;
  }

  /** Items/s as of `now`, clock ms. */
  perSec(now: number): number {
    const dt = Math.max(0, now - this.#last) / 1000;
    return this.#rate * Math.exp(-dt);
  }
}
