import type { EparaError, NamedTensors } from '@epara/core';
import type { SchedulableItem } from '@epara/core/scheduling';

/** Per-stream state shared by the frames of one stateful stream. */
export interface StreamSlot {
  readonly streamId: string;
  /** True while one of the stream's frames runs: a stateful stream's next frame needs this one's state. */
  inFlight: boolean;
  /** Current recurrent state tensors (model input names), fed to the next frame. */
  state: NamedTensors;
}

/** The batch a work item ran in (one object per batch, shared by its items). */
export interface ItemDone {
  /** When the batch holding the item was dispatched, clock ms. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly batchSize: number;
  readonly deviceId: string;
}

/** One queued item: a request or a stream frame, scheduled by core's request scheduler. */
export interface WorkItem extends SchedulableItem {
  readonly serviceId: string;
  /** Validated inputs with size 1 on each batch axis (state inputs of stateful frames are added at dispatch). */
  readonly inputs: NamedTensors;
  /** Items with equal keys have equal non-batch shapes and equal shared tensors: only they share a batch. */
  readonly key: string;
  readonly enqueuedAt: number;
  /** Set for frames of a stateful stream. */
  readonly slot?: StreamSlot;
  /** True for stream frames (a drop is `STALE_FRAME`, not `DEADLINE_EXCEEDED`). */
  readonly frame: boolean;
  /**
   * Called once with the outcome: an error, or the item's outputs and the batch it ran in (no wrapper object
   * per item: this runs for every request). The queue guarantees exactly one call.
   */
  settle(error: EparaError): void;
  settle(error: undefined, outputs: NamedTensors, done: ItemDone): void;
}
