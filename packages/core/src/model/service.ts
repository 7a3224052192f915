import type { DeviceKind, ServiceId } from './device.js';
import type { LatencyProfile } from '../profiles/latency-profile.js';

/** How a service's quality is judged: per request (`latency`) or by sustained stream rate (`frequency`). */
export type Sensitivity = 'latency' | 'frequency';

/** SLO of a latency-sensitive service: every request should complete within `deadlineMs`. */
export interface LatencySlo {
  readonly kind: 'latency';
  /** End-to-end deadline per request, ms. */
  readonly deadlineMs: number;
}

/** SLO of a frequency-sensitive service: each stream needs `rateHz` items/s, each item fresh within `stalenessMs`. */
export interface FrequencySlo {
  readonly kind: 'frequency';
  /** Items per second one stream produces and needs processed. */
  readonly rateHz: number;
  /** Longest acceptable time from an item's emission to its result, ms. */
  readonly stalenessMs: number;
}

/** A service's SLO, matching its {@link Sensitivity}. */
export type Slo = LatencySlo | FrequencySlo;

/** Memory a service needs on each device that holds (a stage of) it. */
export interface ServiceMemory {
  /** Bytes of weights for the whole model. */
  readonly weightsBytes: number;
  /** Working bytes per item in a batch (activations, KV cache). */
  readonly perItemBytes: number;
}

/**
 * A service: one model behind one API, with its SLO, memory needs and measured latency profiles.
 */
export interface ServiceSpec {
  readonly id: ServiceId;
  readonly sensitivity: Sensitivity;
  readonly slo: Slo;
  readonly memory: ServiceMemory;
  /** Time to bring the model onto a device, ms. @default 0 */
  readonly loadTimeMs?: number;
  /** Latency profiles by device kind. A kind without a profile cannot host the service. */
  readonly profiles: Readonly<Record<DeviceKind, LatencyProfile>>;
  /**
   * Network time budgeted out of the deadline (client hop plus one possible offload hop), ms.
   * `D = deadline − networkBudgetMs`. @default 0
   */
  readonly networkBudgetMs?: number;
  /**
   * Relative importance in placement: the value of one item (placement option `valueWeighting: 'per-item'`), or of
   * the service's whole offered load (`'offered-load'`, the default). @default 1
   */
  readonly weight?: number;
  /**
   * Interference: fraction by which a batch of this service runs slower while its device is shared with other
   * services (profiled, e.g. 0.15 = 15 % slower). Overrides placement's `colocationSlowdown`. @default undefined
   */
  readonly colocationSlowdown?: number;
}
