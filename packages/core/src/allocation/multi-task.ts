import type { ServiceSpec } from '../model/service.js';
import { invalidOption } from '../errors/epara-error.js';
import { latencyAt } from '../profiles/latency-profile.js';
import { assertDeviceKind, assertRate, assertService, budgetMs, type DeviceKindSpec } from './validate-input.js';
import { resolveStrategyOptions, usableMemoryBytes, type StrategyOptions } from './strategy-options.js';

/** One service proposed for a shared device. */
export interface MultiTaskMember {
  readonly service: ServiceSpec;
  /** Its batch (or pack) size `b_k` on the shared device. */
  readonly batchSize: number;
  /** Items/s it must serve there. @default 0 */
  readonly ratePerSec?: number;
}

/** Input of {@link checkMultiTask}. */
export interface MultiTaskInput {
  readonly device: DeviceKindSpec;
  readonly members: readonly MultiTaskMember[];
  readonly options?: Partial<StrategyOptions>;
}

/** A constraint of the co-location check. */
export type MultiTaskConstraint = 'profile' | 'memory' | 'deadline' | 'staleness' | 'rate';

/** The verdict for one member. */
export interface MultiTaskMemberVerdict {
  readonly serviceId: string;
  /** `ι·L_k(b_k)` on this device, ms. */
  readonly runMs: number;
  /** Time budget left: `D_k − (C + ι·L_k(b_k))` (latency) or `S_k − ((b_k−1)/rate + C + ι·L_k(b_k))` (frequency), ms. */
  readonly timeSlackMs: number;
  /** Rate left: `b_k / C − rate_k`, items/s. */
  readonly rateSlackPerSec: number;
  /** The constraints this member violates (empty when it fits). */
  readonly failed: readonly MultiTaskConstraint[];
}

/** Result of {@link checkMultiTask}. */
export interface MultiTaskVerdict {
  readonly feasible: boolean;
  /** Round-robin cycle `C = Σ ι·L_k(b_k)`, ms. */
  readonly cycleMs: number;
  /** `Σ (weights_k + b_k·perItem_k)`, bytes. */
  readonly memoryBytes: number;
  readonly usableMemoryBytes: number;
  readonly members: readonly MultiTaskMemberVerdict[];
  /** Every constraint violated by any member (memory counts once, for the device). */
  readonly failed: readonly MultiTaskConstraint[];
}

/**
 * Multi-task co-location check (docs/concepts.md): may these services share one device? Memory: the sum of
 * `weights + b·perItem` stays under usable memory. Time: in a round-robin cycle `C = Σ ι·L_k(b_k)` (`ι` is
 * {@link StrategyOptions.interferenceFactor}), every latency service keeps `C + ι·L_k(b_k) ≤ D_k` (it may
 * just miss its turn, then waits a cycle and runs) and every service's rate stays within `b_k / C`. A frequency
 * member must also keep its staleness: `(b_k−1)/rate_k + C + ι·L_k(b_k) ≤ S_k` (its pack fills, waits one
 * cycle, runs) — the design's rule does not state this, but without it co-location could silently make frames
 * stale.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid device, member or option.
 */
export function checkMultiTask(input: MultiTaskInput): MultiTaskVerdict {
  assertDeviceKind(input.device);
  if (!Array.isArray(input.members) || input.members.length === 0) invalidOption('members', input.members, 'a non-empty array');
  const o = resolveStrategyOptions(input.options);
  const runs: (number | undefined)[] = input.members.map((m, i) => memberRunMs(m, i, input.device.kind, o));
  let cycleMs = 0;
  for (const r of runs) cycleMs += r ?? 0;
  const usable = usableMemoryBytes(input.device.memoryBytes, o);
  const memoryBytes = input.members.reduce((s, m) => s + m.service.memory.weightsBytes + m.batchSize * m.service.memory.perItemBytes, 0);
  const failed = new Set<MultiTaskConstraint>(memoryBytes > usable ? ['memory'] : []);
  const members = input.members.map((m, i) => {
    const verdict = memberVerdict(m, runs[i], cycleMs);
    for (const f of verdict.failed) failed.add(f);
    return verdict;
  });
  return { feasible: failed.size === 0, cycleMs: cycleMs, memoryBytes, usableMemoryBytes: usable, members, failed: [...failed] };
}

function memberRunMs(m: MultiTaskMember, i: number, kind: string, o: StrategyOptions): number | undefined {
  assertService(m.service, `members[${i}].service`);
  if (!(Number.isInteger(m.batchSize) && m.batchSize >= 1)) invalidOption(`members[${i}].batchSize`, m.batchSize, 'an integer >= 1');
  if (m.ratePerSec !== undefined) assertRate(`members[${i}].ratePerSec`, m.ratePerSec);
  const profile = m.service.profiles[kind];
  return profile === undefined ? undefined : o.interferenceFactor * latencyAt(profile, m.batchSize);
}

function memberVerdict(m: MultiTaskMember, runMs: number | undefined, cycleMs: number): MultiTaskMemberVerdict {
  if (runMs === undefined) {
    return { serviceId: m.service.id, runMs: Number.NaN, timeSlackMs: Number.NEGATIVE_INFINITY, rateSlackPerSec: Number.NEGATIVE_INFINITY, failed: ['profile'] };
  }
  const rate = m.ratePerSec ?? 0;
  const failed: MultiTaskConstraint[] = [];
  const fill = m.service.sensitivity === 'frequency' && rate > 0 ? ((m.batchSize - 1) * 1000) / rate : 0;
  const timeSlackMs = budgetMs(m.service) - (fill + cycleMs + runMs);
  if (timeSlackMs < 0) failed.push(m.service.sensitivity === 'latency' ? 'deadline' : 'staleness');
  const rateSlackPerSec = (m.batchSize * 1000) / cycleMs - rate;
  if (rateSlackPerSec < 0) failed.push('rate');
  return { serviceId: m.service.id, runMs, timeSlackMs, rateSlackPerSec, failed };
}
