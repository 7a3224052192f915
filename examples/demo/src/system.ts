import type { NamedTensors } from '@epara/core';
import type { DemoServiceId } from './catalog.js';

/** How one frame of a stream ended. */
export type FrameOutcome = { readonly ok: true } | { readonly ok: false; readonly code: string };

/** A stream as the workload driver uses it (both systems implement it). */
export interface ServingStream {
  /** Where the stream is served (a node index), for the offload count. */
  readonly servedAt: number;
  /** Pushes a frame; `settled` is called exactly once, in push order. */
  push(frame: NamedTensors, settled: (outcome: FrameOutcome) => void): void;
  /** Stops the stream once every pushed frame has settled. */
  close(): Promise<void>;
}

/** A serving system under test: EPARA on the mesh, or the Triton-like baseline. */
export interface ServingSystem {
  readonly name: string;
  /** Submits a request entering at `node`; `deadline` is absolute (`Date.now()` ms). Rejects with an `EparaError`. */
  submit(node: number, serviceId: DemoServiceId, inputs: NamedTensors, deadline: number): Promise<NamedTensors>;
  /** Opens a stream entering at `node`. Rejects with an `EparaError` (`OVERLOADED`, `NO_INSTANCE`…). */
  openStream(node: number, serviceId: DemoServiceId, rateHz: number): Promise<ServingStream>;
  /** Requests sent away from their entry node so far, per service. */
  offloads(): Readonly<Record<string, number>>;
  /** Frees every socket, worker and timer. */
  close(): Promise<void>;
}
