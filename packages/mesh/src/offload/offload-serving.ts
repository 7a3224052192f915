import type { LocalExecutor, ServiceId } from '@epara/core';
import type { Logger } from '@epara/core';
import type { Timers, TimerHandle } from '@epara/core';
import type { Offloader } from './offloader.js';

/** Ports and settings of {@link OffloadServing}. */
export interface OffloadServingConfig {
  readonly offloader: Offloader;
  readonly executor: LocalExecutor;
  readonly timers: Timers;
  /** How often the executor's instances are re-read, ms. */
  readonly pollMs: number;
  readonly logger: Logger;
}

/**
 * Keeps an {@link Offloader} serving exactly the services the local executor hosts with a ready instance:
 * reads `executor.instances()` on start and every `pollMs` (placement loads and unloads show up there) and
 * calls `serve`/`unserve` with the difference. Owns the offloader: `close()` closes it.
 */
export class OffloadServing {
  readonly #c: OffloadServingConfig;
  readonly #served = new Set<ServiceId>();
  /**
   * Services handed to `serve` whose call failed (the broker away, say): asked again on every poll while hosted,
   * and unserved when unloaded — the offloader may be serving them all the same (a NATS client subscribes again
   * when it reconnects). Before, they were forgotten, and one unloaded meanwhile was never unserved.
   */
  readonly #unconfirmed = new Set<ServiceId>();
  #timer: TimerHandle | undefined;
  #closed = false;
  #draining = false;

  constructor(config: OffloadServingConfig) {
    this.#c = config;
  }

  /** The offloader kept serving. */
  get offloader(): Offloader {
    return this.#c.offloader;
  }

  /** Services served now (confirmed by the offloader). */
  get services(): ServiceId[] {
    return [...this.#served].filter((id) => !this.#unconfirmed.has(id));
  }

  /** Serves the hosted services (resolves once remote senders can reach them) and starts tracking. */
  async start(): Promise<void> {
    if (this.#closed || this.#timer !== undefined) return;
    await this.refresh();
    this.#schedule();
  }

  /** Re-reads the executor's instances now and serves/unserves the difference. */
  async refresh(): Promise<void> {
    if (this.#closed || this.#draining) return;
    const hosted = new Set(this.#c.executor.instances().filter((i) => i.status === 'ready').map((i) => i.serviceId));
    const gone = [...this.#served].filter((id) => !hosted.has(id));
    const added = [...hosted].filter((id) => !this.#served.has(id) || this.#unconfirmed.has(id));
    if (gone.length > 0) this.#c.offloader.unserve(gone);
    gone.forEach((id) => (this.#served.delete(id), this.#unconfirmed.delete(id)));
    if (added.length === 0) return;
    added.forEach((id) => this.#served.add(id));
    try {
      await this.#c.offloader.serve(added);
      added.forEach((id) => this.#unconfirmed.delete(id));
    } catch (err) {
      added.forEach((id) => this.#unconfirmed.add(id)); // tried again on the next poll
      this.#c.logger.warn({ err, services: added }, 'offloader could not serve; retrying on the next poll');
    }
  }

  /**
   * The node drains: stops tracking (no service is served again) and lets the offloader stop taking requests;
   * resolves once the ones it took are answered (at once for an offloader without `drain`).
   */
  drain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#draining = true;
    if (this.#timer !== undefined) this.#timer.cancel();
    return this.#c.offloader.drain?.() ?? Promise.resolve();
  }

  /** Stops tracking and closes the offloader (forwards in flight reject with `CLOSED`). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#timer.cancel();
    this.#c.offloader.close();
  }

  #schedule(): void {
    if (this.#closed || this.#draining) return;
    this.#timer = this.#c.timers.setTimeout(() => void this.refresh().finally(() => this.#schedule()), this.#c.pollMs);
  }
}
