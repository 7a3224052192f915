/** Identifies a server in the edge cloud. */
export type ServerId = string;
/** Identifies a device within its server (unique per server). */
export type DeviceId = string;
/** Identifies a service: one model behind one API. */
export type ServiceId = string;

/**
 * A device kind names a class of accelerator with one latency profile, e.g. `'cpu-1t'`, `'cpu-2t'`,
 * `'edge-gpu'`, `'jetson'`. Profiles are keyed by it.
 */
export type DeviceKind = string;

/** One accelerator (a GPU, or a CPU thread budget standing in for one). */
export interface DeviceSpec {
  /** Unique within its server. */
  readonly id: DeviceId;
  /** The profile key of this device. */
  readonly kind: DeviceKind;
  /** Device memory in bytes. */
  readonly memoryBytes: number;
  /**
   * Relative speed, 1 = the reference device of its kind. Used only when a service has no profile for this
   * kind: latency is the reference profile's divided by this.
   * @default 1
   */
  readonly speedClass?: number;
  /** False when the device has failed. @default true */
  readonly healthy?: boolean;
}

/** One edge server and its devices. */
export interface ServerSpec {
  readonly id: ServerId;
  readonly devices: readonly DeviceSpec[];
  /** One-way latency from this server's clients to it, in ms. @default 0 */
  readonly accessLatencyMs?: number;
  /** False when the whole server has failed. @default true */
  readonly healthy?: boolean;
}
