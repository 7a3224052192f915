import type { World } from '../world/world.js';

/** Event kind: a failure or a return is detected (`ref`: {@link HealthChange}). */
export const EV_HEALTH_DETECTED = 82;

/** A failure or a return of a device (or of a whole server when `device` is null). */
interface HealthChange {
  readonly server: number;
  readonly device: number | null;
  readonly recovered: boolean;
}

/**
 * Server and device health as a scheduler knows it: a failure, or a return, only once it is detected —
 * `detectionMs` after it happened (EPARA's ring bypasses a dead successor within a pass; the centralized
 * controller takes a server whose reports stopped for as long as dead). Until then the scheduler places on a
 * failed device as if it were healthy (the load fails at the server) and leaves a returned one idle.
 */
export class DetectedHealth {
  readonly #alive: Uint8Array;
  /** Per device, by the world's device index. */
  readonly #healthy: Uint8Array;

  constructor(world: World, private readonly detectionMs: number) {
    this.#alive = new Uint8Array(world.servers.length).fill(1);
    this.#healthy = new Uint8Array(world.devices.length).fill(1);
  }

  /** A failure or a return happened now: the scheduler learns it `detectionMs` later. */
  noted(world: World, server: number, device: number | null, recovered: boolean): void {
    world.schedule(world.clock.now() + this.detectionMs, EV_HEALTH_DETECTED, server, { server, device, recovered } satisfies HealthChange);
  }

  /** Applies a detection ({@link EV_HEALTH_DETECTED}'s `ref`). */
  detected(world: World, ref: unknown): void {
    const { server, device, recovered } = ref as HealthChange;
    const up = recovered ? 1 : 0;
    const devices = world.devicesByServer[server]!;
    if (device === null) {
      this.#alive[server] = up;
      for (const d of devices) this.#healthy[d.index] = up;
    } else this.#healthy[devices[device]!.index] = up;
  }

  serverAlive(server: number): boolean {
    return this.#alive[server] === 1;
  }

  /** Whether device `local` of `server` is taken as healthy. */
  deviceHealthy(world: World, server: number, local: number): boolean {
    return this.#healthy[world.devicesByServer[server]![local]!.index] === 1;
  }
}
