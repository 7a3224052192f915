import { DEFAULT_ROUTE_OPTIONS, totalDemandRate, type PlacedInstance, type ServiceDemand, type ServiceSpec } from '@epara/core';
import { streamCapacity } from '@epara/core/scheduling';

/** One stream service's demand against what its placed instances can admit. */
export interface StreamCoverage {
  readonly serviceId: string;
  /** Frames/s the forecast's streams push. */
  readonly demandPerSec: number;
  /** Σ the instances' planned capacity (core's plan: the smallest pack that keeps up). */
  readonly planPerSec: number;
  /**
   * Frames/s stream admission can admit on the placement: per instance, the largest pack that stays fresh (what
   * the runtime announces for a stream service) × the share of its device the other instances' planned demand
   * leaves, less admission's spare margin.
   */
  readonly admissiblePerSec: number;
  /** `admissiblePerSec ≥ demandPerSec`. */
  readonly covered: boolean;
}

/**
 * Checks each stream service of a placement against its forecast: a stream is admitted whole or refused whole
 * (`admitStream`: spare = capacity − load ≥ rate + margin × capacity), so a service whose admissible rate is short of
 * its demand refuses streams — every frame of each — however idle the other devices are. On the profiles, or at
 * `costRatio` (per service, measured run time ÷ profile, 1 where absent): a service `r` times slower serves `1 / r`
 * of its rate and its planned demand takes `r` times its share of the device; the demand does not change.
 */
export function streamCoverage(specs: readonly ServiceSpec[], instances: readonly PlacedInstance[], demand: readonly ServiceDemand[], costRatio: Readonly<Record<string, number>> = {}): StreamCoverage[] {
  const ratio = (id: string): number => {
    const r = costRatio[id];
    return r !== undefined && Number.isFinite(r) && r > 0 ? r : 1;
  };
  const demandOf = (id: string): number => {
    const d = demand.find((x) => x.serviceId === id);
    return d === undefined ? 0 : totalDemandRate(d);
  };
  // The share of its device each instance's planned demand takes: the service's demand spread over its instances'
  // planned capacity, at its plan's batch.
  const shareOf = (p: PlacedInstance): number => {
    const all = instances.filter((q) => q.serviceId === p.serviceId);
    const cap = all.reduce((a, q) => a + q.plan.capacityPerSec, 0);
    return cap > 0 ? Math.min(1, (demandOf(p.serviceId) * ratio(p.serviceId)) / cap) : 0;
  };
  const margin = DEFAULT_ROUTE_OPTIONS.spareMarginFraction;
  return specs
    .filter((s) => s.slo.kind === 'frequency')
    .map((s) => {
      const mine = instances.filter((p) => p.serviceId === s.id);
      const profile = s.profiles[mine[0]?.plan.deviceKind ?? ''] ?? Object.values(s.profiles)[0]!;
      const stalenessMs = (s.slo.kind === 'frequency' ? s.slo.stalenessMs : 0) - (s.networkBudgetMs ?? 0);
      const largest = profile.points[profile.points.length - 1]!.batch;
      const solo = stalenessMs > 0 ? streamCapacity(profile, { stalenessMs, maxBatch: largest }).ratePerSec / ratio(s.id) : 0;
      let admissible = 0;
      for (const p of mine) {
        const others = instances.filter((q) => q !== p && q.serverId === p.serverId && q.deviceIds.some((d) => p.deviceIds.includes(d)));
        const free = Math.max(0, 1 - others.reduce((a, q) => a + shareOf(q), 0));
        admissible += solo * free * (1 - margin) * p.deviceIds.length;
      }
      const demandPerSec = demandOf(s.id);
      const planPerSec = mine.reduce((a, p) => a + p.plan.capacityPerSec, 0) / ratio(s.id);
      return { serviceId: s.id, demandPerSec, planPerSec, admissiblePerSec: admissible, covered: admissible >= demandPerSec };
    });
}

/** Lines for the run's log: per stream service, demand, planned and admissible frames/s. */
export function coverageLines(c: readonly StreamCoverage[]): string[] {
  return c.map((x) => `${x.serviceId}: demand ${x.demandPerSec.toFixed(0)} frames/s, planned ${x.planPerSec.toFixed(0)}, admissible ${x.admissiblePerSec.toFixed(0)}${x.covered ? '' : ' — SHORT: streams will be refused whole'}`);
}
