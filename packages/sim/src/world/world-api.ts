import type { ManualClock, Random } from '@epara/core';
import type { EventQueue } from '../engine/event-queue.js';
import type { EventHandler } from '../engine/run-events.js';
import type { MetricsCollector } from '../metrics/collector.js';
import type { SimServer } from '../model/hardware.js';
import type { Network } from '../model/network.js';
import type { SimService } from '../model/services.js';
import type { DropReason, RunningBatch, SimDevice, SimInstance, SimRequest, SimStream } from './types.js';

/*
 * The world as its parts see it, and the system under test as the world sees it. Both live here, apart from the
 * world's class (`SimWorld` in world.ts), so that the modules the class uses (execution, launch, failures, its
 * init) and the systems can name the world without importing the class that imports them.
 */

/**
 * The simulated edge cloud: hardware, network, workload, execution and metrics, under the core virtual
 * clock (implemented by `SimWorld`).
 */
export interface World extends EventHandler {
  readonly queue: EventQueue;
  readonly clock: ManualClock;
  /** Randomness the system may use (sync noise and loss, tie breaks): separate from the workload's. */
  readonly systemRandom: Random;
  readonly servers: readonly SimServer[];
  readonly services: readonly SimService[];
  readonly network: Network;
  /** Server ids by index (`servers[i].spec.id`), flat for hot paths. */
  readonly serverIds: readonly string[];
  /** Server index by id (the inverse of {@link World.serverIds}). */
  readonly serverIndex: ReadonlyMap<string, number>;
  readonly devices: SimDevice[];
  readonly devicesByServer: SimDevice[][];
  readonly serverAlive: boolean[];
  readonly instancesByServer: SimInstance[][];
  readonly metrics: MetricsCollector;
  readonly system: SimSystem;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly earlyWindowDemand: readonly (readonly number[])[];
  /** {@link WorldInit.earlyWindowSlackMs} (empty when none was given). */
  readonly earlyWindowSlackMs: readonly (readonly (readonly number[])[])[];
  readonly interference: number;
  /** Batches that ended, reused by the next launches (`execution.ts`). */
  readonly freeBatches: RunningBatch[];
  /** Instances by mode per service, taken when the workload stops. */
  modesAtEnd: Record<string, string>;
  /** Loads refused because the device memory could not hold them. */
  loadFailures: number;
  memorySamples: number;
  memoryUsedSum: number;
  /** Schedules the workload, failures and sampling, then lets the system start. */
  start(): void;
  /** Schedules an event (systems use kinds ≥ `EV.SYSTEM`). */
  schedule(atMs: number, kind: number, a: number, ref?: unknown): void;
  /** Sends a request from `from` to `to` over the network (one offload hop). */
  forward(req: SimRequest, from: number, to: number): void;
  /** Upload bytes of a request. */
  payloadOf(req: SimRequest): number;
  /** Delivers a finished item's result from `server` to its client over the contended links (lost if its access server failed). */
  deliver(req: SimRequest, server: number): void;
  /** Queues a request at an instance. */
  enqueue(inst: SimInstance, req: SimRequest): void;
  /** Settles an item without a result. */
  dropItem(req: SimRequest, reason: DropReason): void;
  /** Creates an instance on devices of a server; `warm` instances are ready at once, others load first. */
  createInstance(init: Pick<SimInstance, 'service' | 'server' | 'devices' | 'plan' | 'policy'>, warm: boolean): SimInstance | null;
  /** Bytes of a device held by its instances (loading, ready or draining). */
  memoryUsed(d: SimDevice): number;
  /** Stops routing to an instance; it finishes its queue, then frees its devices. */
  drainInstance(inst: SimInstance): void;
  /** Frees a draining instance once it has no queued or running work. */
  maybeFree(inst: SimInstance): void;
  /** Removes an instance at once, dropping what it still holds with `reason`. */
  killInstance(inst: SimInstance, reason: DropReason): void;
  /** The access server a client of `origin` reaches: itself, or the next alive server if it is down. */
  accessServer(origin: number): number;
  /** Lets every device of a server try to start work (after a recovery or a placement). */
  kickServer(server: number): void;
}

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
  /**
   * A stream's client is about to upload a frame (optional): true keeps it at the client, where it settles as
   * refused (`OVERLOADED`) without taking access-uplink time.
   */
  holdsFrame?(world: World, stream: SimStream): boolean;
  /**
   * A client is about to upload a request that would reach its access server at `arriveAt` (optional): true
   * skips it, settled as `DEADLINE_INFEASIBLE`, without taking access-uplink time.
   */
  skipsUpload?(world: World, req: SimRequest, arriveAt: number): boolean;
  /** A batch finished on an instance and its results leave (optional: what a server learns from its own runs). */
  onBatchDone?(world: World, inst: SimInstance, items: readonly SimRequest[]): void;
  /** Facts for the report (configuration picked, placements run, …). */
  describe(): Record<string, unknown>;
}
