import type { LatencyProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import type { DeviceKindSpec } from './validate-input.js';
import { usableMemoryBytes, type StrategyOptions } from './strategy-options.js';
import { infeasible, type PlanOutcome } from './plan-outcome.js';

/** What every single-device planner starts from: the device kind's profile, the usable memory and the service's. */
export interface PlanBasis {
  readonly feasible: 'basis';
  readonly profile: LatencyProfile;
  /** Device memory left after the headroom option, bytes. */
  readonly usable: number;
  readonly weightsBytes: number;
  readonly perItemBytes: number;
}

/**
 * The opening the planners share (batching, multi-frame, data- and model-parallel): the service's profile on
 * `device.kind` — an infeasible `profile` outcome when it has none — and the memory figures. Input is already
 * validated and `o` resolved.
 */
export function preparePlan(service: ServiceSpec, device: DeviceKindSpec, o: StrategyOptions): PlanBasis | PlanOutcome {
  const profile = service.profiles[device.kind];
  if (profile === undefined) return infeasible('profile', `no latency profile for device kind ${device.kind}`);
  const { weightsBytes, perItemBytes } = service.memory;
  return { feasible: 'basis', profile, usable: usableMemoryBytes(device.memoryBytes, o), weightsBytes, perItemBytes };
}
