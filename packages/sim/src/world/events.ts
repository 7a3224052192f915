/** Event kinds of the simulation loop (small integers; dispatch is a switch, no closures per event). */
export const EV = {
  SOURCE: 1,
  TRACE: 2,
  STREAM_START: 3,
  FRAME: 4,
  AT_SERVER: 5,
  DEVICE: 6,
  TIMER: 7,
  READY: 8,
  FAILURE: 10,
  SAMPLE: 11,
  FREE_CHECK: 12,
  SNAPSHOT: 13,
  /** Kinds at or above this belong to the system under test (sync hops, placement ticks, control RPCs). */
  SYSTEM: 32,
} as const;
