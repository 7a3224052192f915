/**
 * What the scheduler needs to know about a stateful stream's frame: a stream's frames run one at a time (the
 * next frame needs this one's state), and at most one frame of a stream joins a batch.
 */
export interface StreamSlotLike {
  readonly streamId: string;
  /** True while one of the stream's frames runs. */
  readonly inFlight: boolean;
}

/**
 * One unit of work as the request scheduler sees it: a request or a stream frame. Hosts extend it with their
 * own payload (the runtime's work item carries tensors and a settle callback; the simulator's request its
 * origin and size). Plain fields only, so that a host can reuse its own objects without wrapping them.
 */
export interface SchedulableItem {
  /** Unique and increasing: the FIFO tie-breaker. */
  readonly seq: number;
  /** Absolute time by which the item must finish on the device, clock ms. */
  readonly deadline: number;
  /** Higher runs first among equal deadlines. */
  readonly priority: number;
  /**
   * Only items with equal keys share a batch (equal non-batch shapes and shared tensors). Omitted: every item
   * may share a batch with every other.
   */
  readonly key?: string;
  /** Set for frames of a stateful stream. */
  readonly slot?: StreamSlotLike;
  /**
   * Run time of this item relative to the input the latency profile was measured with (its input's bytes over
   * the profiled input's bytes, at least 1): a batch of `n` is expected to take `L(n) × costScale`.
   * @default 1
   */
  readonly costScale?: number;
}

/** EDF order: earlier deadline, then higher priority, then earlier submission. */
export function edfCompare(a: SchedulableItem, b: SchedulableItem): number {
  return a.deadline - b.deadline || b.priority - a.priority || a.seq - b.seq;
}
