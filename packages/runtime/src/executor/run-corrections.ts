import { latencyAt, type LatencyProfile } from '@epara/core';

/**
 * Per-device corrections of a profile: an EWMA of measured over predicted run time, clamped to ½…4×, so the
 * launch rule and admission follow a device that runs slower (or faster) than profiled. `version` changes with
 * every correction, for callers that cache figures derived from them.
 */
export class RunCorrections {
  readonly #ratio = new Map<string, number>();
  #version = 0;

  /** Bumped whenever a device's correction changes. */
  get version(): number {
    return this.#version;
  }

  /** The correction of `deviceId` (1 before any run there). */
  of(deviceId: string): number {
    return this.#ratio.get(deviceId) ?? 1;
  }

  /** Folds in a batch of `n` that computed for `runMs` on `deviceId`. */
  observe(profile: LatencyProfile, deviceId: string, n: number, runMs: number): void {
    if (!(runMs > 0)) return;
    const ratio = runMs / latencyAt(profile, n);
    const old = this.of(deviceId);
    this.#ratio.set(deviceId, Math.min(4, Math.max(0.5, 0.8 * old + 0.2 * ratio)));
    this.#version++;
  }

  /** The smaller of the profile's and the corrected run time of a batch of `n` over `deviceIds`, ms. */
  optimisticMs(profile: LatencyProfile, n: number, deviceIds: readonly string[]): number {
    const profiled = latencyAt(profile, n);
    let ms = profiled;
    for (const id of deviceIds) ms = Math.min(ms, profiled * this.of(id));
    return ms;
  }
}
