import type { ServiceId } from '@epara/core';

/**
 * Per-service arrival rates at this server (requests entering here, plus the rate of streams opened here):
 * counts over a window, smoothed with an exponentially weighted moving average across windows so one noisy
 * period does not swing the placement.
 */
export class ArrivalMeter {
  readonly #windowMs: number;
  readonly #alpha: number;
  readonly #counts = new Map<ServiceId, number>();
  readonly #rates = new Map<ServiceId, number>();
  readonly #streams = new Map<ServiceId, number>();
  #windowStart: number;

  constructor(now: number, windowMs: number, alpha = 0.5) {
    this.#windowStart = now;
    this.#windowMs = windowMs;
    this.#alpha = alpha;
  }

  record(serviceId: ServiceId): void {
    this.#counts.set(serviceId, (this.#counts.get(serviceId) ?? 0) + 1);
  }

  /** A stream of `rateHz` opened (positive) or closed (negative) here. */
  streamRate(serviceId: ServiceId, deltaHz: number): void {
    this.#streams.set(serviceId, Math.max(0, (this.#streams.get(serviceId) ?? 0) + deltaHz));
  }

  /** Rates in items/s, rounded to 0.1 (so an unchanged load does not bump the entry's version). */
  rates(now: number): Record<ServiceId, number> {
    if (now - this.#windowStart >= this.#windowMs) this.#roll(now);
    const out: Record<ServiceId, number> = {};
    for (const id of new Set([...this.#rates.keys(), ...this.#streams.keys()])) {
      const r = Math.round(((this.#rates.get(id) ?? 0) + (this.#streams.get(id) ?? 0)) * 10) / 10;
      if (r > 0) out[id] = r;
    }
    return out;
  }

  #roll(now: number): void {
    const seconds = (now - this.#windowStart) / 1000;
    for (const id of new Set([...this.#rates.keys(), ...this.#counts.keys()])) {
      const measured = (this.#counts.get(id) ?? 0) / seconds;
      this.#rates.set(id, this.#alpha * measured + (1 - this.#alpha) * (this.#rates.get(id) ?? measured));
    }
    this.#counts.clear();
    this.#windowStart = now;
  }
}
