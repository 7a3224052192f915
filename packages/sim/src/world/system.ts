import type { SimInstance, SimRequest, SimStream } from './types.js';
import type { World } from './world.js';

/**
 * A serving system under test: EPARA or a baseline. The world owns hardware, workload, execution and
 * metrics; the system decides placement, routing and stream handling. Every system sees the same devices,
 * profiles, workload and network.
 */
export interface SimSystem {
  readonly name: string;
  /** Places the initial services and schedules the system's periodic events. */
  start(world: World): void;
  /** A request or frame reached `server` (from its client or forwarded by a peer). */
  onRequest(world: World, req: SimRequest, server: number): void;
  onStreamStart(world: World, stream: SimStream): void;
  onStreamEnd(world: World, stream: SimStream): void;
  /** Events of kind ≥ `EV.SYSTEM`. */
  onEvent(world: World, kind: number, a: number, ref: unknown): void;
  /** A device (or the whole server when `device` is null) failed or recovered. */
  onFailure(world: World, server: number, device: number | null, recovered: boolean): void;
  /** An instance became ready, started draining, or is gone. */
  onInstanceChange(world: World, inst: SimInstance): void;
  /** Facts for the report (configuration picked, placements run, …). */
  describe(): Record<string, unknown>;
}
