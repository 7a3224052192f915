import type { Random } from '@epara/core';
import type { SimServer } from '../model/hardware.js';
import type { Network } from '../model/network.js';
import type { SimService } from '../model/services.js';
import type { RequestSource, StreamSession } from '../workload/workload.js';
import type { FailureEvent } from './failures.js';
import type { SimSystem } from './system.js';
import type { World } from './world-api.js';

/** Instances alive now, per service: counts by `requestStrategy × serviceStrategy (devices)`. */
export function instanceModes(world: World): Record<string, string> {
  const counts = world.services.map(() => new Map<string, number>());
  for (const list of world.instancesByServer) {
    for (const inst of list) {
      if (inst.status === 'gone') continue;
      const key = `${inst.plan.requestStrategy} × ${inst.plan.serviceStrategy} (${inst.devices.length} dev)`;
      counts[inst.service]!.set(key, (counts[inst.service]!.get(key) ?? 0) + 1);
    }
  }
  const out: Record<string, string> = {};
  world.services.forEach((s, k) => (out[s.spec.id] = counts[k]!.size === 0 ? 'none' : [...counts[k]!].map(([m, n]) => `${n}× ${m}`).join(', ')));
  return out;
}

/** Draws an access server from the origin table's epoch at `now`. */
export function pickOrigin(t: OriginTable, now: number, rng: Random): number {
  const n = t.cumulative.length / t.epochs;
  const e = Math.min(t.epochs - 1, Math.max(0, Math.floor(now / t.epochMs)));
  const c = t.cumulative;
  const base = e * n;
  const x = rng.next() * c[base + n - 1]!;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c[base + mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Compiled trace rows (columnar). */
export interface CompiledTrace {
  readonly times: Float64Array;
  readonly services: Int32Array;
  readonly origins: Int32Array;
  /** Prompt and answer tokens per row (−1: draw from the service's LLM timing). */
  readonly promptTokens: Int32Array;
  readonly outputTokens: Int32Array;
}

/** Where clients enter: per epoch of `epochMs`, cumulative weights over access servers (row-major). */
export interface OriginTable {
  readonly epochMs: number;
  readonly epochs: number;
  readonly cumulative: Float64Array;
}

/** Everything a world is built from (already validated and compiled). */
export interface WorldInit {
  readonly seed: number;
  readonly servers: readonly SimServer[];
  readonly services: readonly SimService[];
  readonly network: Network;
  readonly sources: readonly RequestSource[];
  readonly trace: CompiledTrace | null;
  readonly sessions: readonly StreamSession[];
  readonly origins: OriginTable;
  /**
   * Demand per service and access server, items/s, as an operator measured it over an early window (a
   * sample drawn with its own seed, not the run's arrivals): the prior every system starts from. Systems
   * learn the rest online.
   */
  readonly earlyWindowDemand: readonly (readonly number[])[];
  /**
   * Per service and access server, quantiles of the slack the early window's items had left on reaching their
   * access server (net of the result's way back), ms: the prior of placement's `arrivalSlackMs`. @default none
   */
  readonly earlyWindowSlackMs?: readonly (readonly (readonly number[])[])[];
  /** Slowdown per extra batch sharing a device: `n` concurrent batches each run at `1/(n·(1+β(n−1)))`. */
  readonly interference: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly failures: readonly FailureEvent[];
  readonly system: SimSystem;
}

