import { kickDevice } from './execution.js';
import type { World } from './world-api.js';

/** A failure (or recovery) of a device or of a whole server at a given time. */
export interface FailureEvent {
  readonly atMs: number;
  /** Server index. */
  readonly server: number;
  /** Device index within the server; omitted: the whole server. */
  readonly device?: number;
  /** True to bring it back (empty: models must be loaded again). */
  readonly recover?: boolean;
}

/**
 * Applies a failure: batches running on a failed device are lost (`WORKER_CRASHED`), instances left without
 * a healthy device are killed with their queues, and a failed server also loses requests that arrive at
 * it later (`PEER_UNAVAILABLE`). Then the system is told, so it can re-place and re-route.
 */
export function applyFailure(world: World, f: FailureEvent): void {
  const devices = f.device === undefined ? world.devicesByServer[f.server]! : [world.devicesByServer[f.server]![f.device]!];
  if (f.recover === true) {
    for (const d of devices) {
      d.healthy = true;
      d.lastUpdate = world.clock.now();
    }
    if (f.device === undefined) world.serverAlive[f.server] = true;
    world.system.onFailure(world, f.server, f.device ?? null, true);
    for (const d of devices) kickDevice(world, d);
    return;
  }
  for (const d of devices) {
    d.healthy = false;
    d.version++;
    for (const b of d.running) {
      if (b.stage === 0) b.instance.running--;
      for (const r of b.items) if (!r.settled) world.dropItem(r, 'WORKER_CRASHED');
    }
    d.running = [];
    for (const inst of [...d.instances]) {
      const dead = inst.plan.serviceStrategy === 'model-parallel' || inst.devices.every((x) => !x.healthy);
      if (dead) world.killInstance(inst, 'WORKER_CRASHED');
    }
  }
  if (f.device === undefined) {
    world.serverAlive[f.server] = false;
    for (const inst of [...world.instancesByServer[f.server]!]) world.killInstance(inst, 'WORKER_CRASHED');
  }
  world.system.onFailure(world, f.server, f.device ?? null, false);
}
