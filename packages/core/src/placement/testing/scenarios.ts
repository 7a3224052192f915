import type { ServerSpec } from '../../model/device.js';
import { createSeededRandom, type Random } from '../../ports/random.js';
import type { PlacementOptions } from '../options.js';
import { placeServices } from '../place-services.js';
import type { PlacementInput } from '../types.js';
import { randomPlacementInstance, type RandomInstanceShape } from './random-instance.js';

/** Scales every demand rate of an instance by a per-service random factor in [0, 2). */
export function perturbDemand(input: PlacementInput, rng: Random): PlacementInput {
  return {
    ...input,
    demand: input.demand.map((d) => {
      const f = 2 * rng.next();
      return { ...d, ratePerServer: Object.fromEntries(Object.entries(d.ratePerServer).map(([a, r]) => [a, Math.round(r * f * 100) / 100])) };
    }),
  };
}

/** Marks each device unhealthy with probability `p` (and each server with `p / 2`). */
export function failRandomDevices(servers: readonly ServerSpec[], rng: Random, p: number): ServerSpec[] {
  return servers.map((s) => ({
    ...s,
    healthy: rng.next() >= p / 2,
    devices: s.devices.map((d) => ({ ...d, healthy: rng.next() >= p })),
  }));
}

/**
 * A state-aware scenario: a random cluster whose current placement was computed for other demand, then the
 * demand moved and some devices may have failed.
 */
export function statefulScenario(seed: number, shape: RandomInstanceShape, options: PlacementOptions, failP = 0): PlacementInput {
  const rng = createSeededRandom(seed);
  const base = randomPlacementInstance(rng, shape);
  const before = placeServices(perturbDemand(base, rng), options);
  const servers = failP > 0 ? failRandomDevices(base.servers, rng, failP) : base.servers;
  return { ...base, servers, current: before.instances };
}
