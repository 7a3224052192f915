import { createDemandForecaster, type DemandForecaster, type ForecastOptions } from '@epara/core';
import type { World } from '../world/world.js';

/**
 * A system's learned demand: core's online forecaster over every (service, access server) pair, seeded with
 * the early-window measurement every system gets and fed only with the arrivals the system itself observed.
 * No system reads the workload's true rates.
 */
export class OnlineForecast {
  readonly #f: DemandForecaster;
  readonly #servers: number;
  readonly #services: number;
  /** The last {@link OnlineForecast.demand} copy, until the next window closes (the forecast moves only then). */
  #demand: readonly (readonly number[])[] | null = null;
  /** Arrivals recorded so far. */
  #recorded = 0;

  constructor(world: World, options: Omit<ForecastOptions, 'series'> = {}) {
    this.#servers = world.servers.length;
    this.#services = world.services.length;
    this.#f = createDemandForecaster({ ...options, series: this.#servers * this.#services });
    world.earlyWindowDemand.forEach((row, k) => row.forEach((r, s) => this.#f.seed(k * this.#servers + s, r)));
  }

  /** Counts `count` arrivals (default one) of `service` observed at access server `server`. */
  record(service: number, server: number, count?: number): void {
    this.#f.record(service * this.#servers + server, count);
    this.#recorded += count ?? 1;
  }

  /** Closes the current window; returns the access servers where some service's demand shifted (ascending, distinct). */
  close(now: number): number[] {
    this.#demand = null;
    const changed = this.#f.closeWindow(now).changed;
    if (changed.length === 0) return [];
    return [...new Set(changed.map((i) => i % this.#servers))].sort((a, b) => a - b);
  }

  /**
   * Forecast items/s as `[service][server]`. One copy per window: every zone's placement reads the whole matrix,
   * and the zones' periodic placements fall in the same window.
   */
  demand(): readonly (readonly number[])[] {
    if (this.#demand !== null) return this.#demand;
    const r = this.#f.rates();
    const n = this.#servers;
    const out: number[][] = [];
    // Plain copies: `Array.from` over a typed array steps its iterator, one result object per element.
    for (let k = 0; k < this.#services; k++) {
      const row: number[] = [];
      for (let s = 0; s < n; s++) row.push(r[k * n + s]!);
      out.push(row);
    }
    this.#demand = out;
    return out;
  }

  /** Total forecast of one service, items/s. */
  total(service: number): number {
    let t = 0;
    for (let s = 0; s < this.#servers; s++) t += this.#f.rate(service * this.#servers + s);
    return t;
  }

  /** Windows closed, changes declared and arrivals recorded so far. */
  stats(): { windows: number; changes: number; recorded: number } {
    return { ...this.#f.stats(), recorded: this.#recorded };
  }
}
