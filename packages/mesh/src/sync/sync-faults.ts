import { invalidOption } from '@epara/core';
import type { InstanceInfo, Random } from '@epara/core';
import type { WireEntry } from './sync-types.js';

/**
 * Injected synchronization errors, for robustness tests and experiments (docs/mesh.md: sync errors may
 * cost a hop or a rejection, never a wrong answer or a lost request).
 */
export interface SyncFaults {
  /** Probability that an outgoing sync message (token or ack) is silently dropped. @default 0 */
  readonly lossProbability?: number;
  /** Extra delay before each outgoing sync message, ms. @default 0 */
  readonly delayMs?: number;
  /**
   * Multiplicative noise on received numbers (wait, load, rates, capacity): each is multiplied by
   * `1 + ε`, `ε ~ U[−noise, noise]`. @default 0
   */
  readonly noise?: number;
}

/** Resolved faults with the random source they draw from. */
export interface FaultInjector {
  readonly delayMs: number;
  /** True when this message should be dropped. */
  drop(): boolean;
  /** An entry with noise applied to its numbers (the same entry when noise is 0). */
  perturb(entry: WireEntry): WireEntry;
}

/** Validates {@link SyncFaults} and returns an injector drawing from `random`. */
export function createFaultInjector(faults: SyncFaults, random: Random): FaultInjector {
  const loss = faults.lossProbability ?? 0;
  const noise = faults.noise ?? 0;
  const delayMs = faults.delayMs ?? 0;
  if (!(loss >= 0 && loss <= 1)) invalidOption('syncFaults.lossProbability', loss, 'a number in [0, 1]');
  if (!(noise >= 0)) invalidOption('syncFaults.noise', noise, 'a number >= 0');
  if (!(delayMs >= 0)) invalidOption('syncFaults.delayMs', delayMs, 'a number >= 0');
  const jitter = (v: number): number => Math.max(0, v * (1 + noise * (2 * random.next() - 1)));
  const perturbInstance = (i: InstanceInfo): InstanceInfo => ({
    ...i,
    waitMs: jitter(i.waitMs),
    loadPerSec: jitter(i.loadPerSec),
    capacityPerSec: jitter(i.capacityPerSec),
  });
  return {
    delayMs,
    drop: () => loss > 0 && random.next() < loss,
    perturb(entry) {
      if (noise === 0) return entry;
      const rates: Record<string, number> = {};
      for (const [k, v] of Object.entries(entry.arrivalRates)) rates[k] = jitter(v);
      return { ...entry, load: jitter(entry.load), arrivalRates: rates, instances: entry.instances.map(perturbInstance) };
    },
  };
}
